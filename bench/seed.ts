/**
 * The bench database: a fresh SQLite file in a temp directory, or a fresh schema of the
 * PostgreSQL database DATABASE_URL names (dropped afterwards). Seeded through the real
 * migrations and account service; the bulk (devices, tasks, messages) goes in as batched
 * multi-row inserts inside transactions, with `task_counts` kept in step.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type { FastifyBaseLogger } from 'fastify'
import { loadConfig } from '../packages/server/src/config.ts'
import { loadSecretsKey } from '../packages/server/src/data-dir.ts'
import { openDatabase, type DatabaseHandle } from '../packages/server/src/db/database.ts'
import { migrateToLatest } from '../packages/server/src/db/migrate.ts'
import type { Database } from '../packages/server/src/db/schema.ts'
import { SecretBox } from '../packages/server/src/lib/secret-box.ts'
import { AccountService } from '../packages/server/src/services/accounts.ts'
import { liveFacts } from '../packages/server/src/services/device-state.ts'
import { ALL_DEVICES, addTaskCount } from '../packages/server/src/services/tasks.ts'
import { TokenService } from '../packages/server/src/services/tokens.ts'
import { DEVICE_COUNT, activityOf, deviceId, deviceRow, isPrinting, printerState, taskDevice, taskRow } from './fixtures.ts'

export const ACCOUNT = 'bench@example.com'
export const PASSWORD = 'bench-password-123'

const ROWS_PER_INSERT = 1000
const ROWS_PER_TRANSACTION = 50_000

export interface BenchDatabase {
  /** The DATABASE_URL the server gets. */
  url: string
  kind: 'sqlite' | 'postgres'
  dataDir: string
  drop(): Promise<void>
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bambu-cloud-bench-'))
  const base = process.env.DATABASE_URL ?? ''
  if (!base.startsWith('postgres')) {
    return {
      url: `sqlite:${path.join(dataDir, 'bench.db')}`,
      kind: 'sqlite',
      dataDir,
      drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
    }
  }
  const schema = `bench_${randomBytes(6).toString('hex')}`
  const admin = openDatabase(base, { poolSize: 1 })
  await sql`create schema ${sql.id(schema)}`.execute(admin.db)
  await admin.db.destroy()
  const url = new URL(base)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return {
    url: url.toString(),
    kind: 'postgres',
    dataDir,
    drop: async () => {
      const c = openDatabase(base, { poolSize: 1 })
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(c.db)
      await c.db.destroy()
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** A logger for the services used outside a server: says nothing. */
const silent: FastifyBaseLogger = new Proxy({} as FastifyBaseLogger, {
  get: (_target, prop) => (prop === 'child' ? () => silent : prop === 'level' ? 'silent' : () => {}),
})

export async function describeDatabase(handle: DatabaseHandle): Promise<string> {
  if (handle.dialect === 'sqlite') {
    const r = await sql<{ v: string }>`select sqlite_version() as v`.execute(handle.db)
    return `SQLite ${r.rows[0]!.v} (better-sqlite3, WAL, temp file)`
  }
  const r = await sql<{ v: string }>`show server_version`.execute(handle.db)
  return `PostgreSQL ${Object.values(r.rows[0]!)[0]} (fresh schema, loopback)`
}

/** Seeds one account with its printers, then tops its print history up stage by stage. */
export class Seeder {
  private count = 0

  private constructor(
    readonly handle: DatabaseHandle,
    readonly uid: number,
    /** The run's largest size: task times are laid out so the newest task is `now`. */
    private readonly total: number,
    private readonly now: number,
  ) {}

  static async open(bench: BenchDatabase, total: number): Promise<Seeder> {
    const handle = openDatabase(bench.url, { poolSize: 2 })
    await migrateToLatest(handle)
    const config = loadConfig({ DATABASE_URL: bench.url, DATA_DIR: bench.dataDir, LOG_LEVEL: 'silent' })
    const ctx = { config, database: handle, now: Date.now, log: silent, secrets: new SecretBox(loadSecretsKey(config)) }
    // The real service, so the password hash is what a login checks (Argon2id: done once).
    const user = await new AccountService(ctx, new TokenService(ctx)).create({ account: ACCOUNT, password: PASSWORD, name: 'Bench' })
    const now = Date.now()
    await handle.db
      .insertInto('devices')
      .values(Array.from({ length: DEVICE_COUNT }, (_, d) => deviceRow(d, user.uid, now)))
      .execute()
    return new Seeder(handle, user.uid, total, now)
  }

  get tasks(): number {
    return this.count
  }

  /** Adds tasks until the account has `target`; returns the seconds it took. */
  async topUp(target: number): Promise<number> {
    const started = performance.now()
    const { db } = this.handle
    const from = this.count
    const maxBefore = await this.maxTaskId()
    await this.retireRunning()
    const last = lastOfEachDevice(from, target)
    for (let start = from; start < target; start += ROWS_PER_TRANSACTION) {
      const end = Math.min(target, start + ROWS_PER_TRANSACTION)
      await db.transaction().execute(async (trx) => {
        const counts = new Map<string, number>()
        for (let b = start; b < end; b += ROWS_PER_INSERT) {
          const rows = []
          for (let i = b; i < Math.min(end, b + ROWS_PER_INSERT); i++) {
            const row = taskRow(i, this.total, this.uid, this.now, { lastOfDevice: last.has(i) })
            rows.push(row)
            const key = `${row.device_id}\u0000${row.status}`
            counts.set(key, (counts.get(key) ?? 0) + 1)
          }
          await trx.insertInto('tasks').values(rows).execute()
        }
        for (const [key, n] of counts) {
          const [device, status] = key.split('\u0000') as [string, string]
          await this.addCount(trx, device, Number(status), n)
        }
      })
      this.count = end
    }
    // A type-6 message for about one in ten ended prints, as finishing them would have left.
    await sql`insert into messages (uid, type, task_id, created_at)
      select uid, 6, id, coalesce(end_time, updated_at) from tasks
      where uid = ${this.uid} and id > ${maxBefore} and status in (2, 3) and id % 10 = 0`.execute(db)
    await this.updateDevices()
    await this.verify(target)
    if (this.handle.dialect === 'postgres') {
      // What autovacuum would soon do after a bulk load: fresh planner statistics.
      await sql`analyze tasks, task_counts, messages, devices`.execute(db)
    } else {
      await sql`pragma wal_checkpoint(truncate)`.execute(db)
    }
    return (performance.now() - started) / 1000
  }

  private async maxTaskId(): Promise<number> {
    const r = await this.handle.db.selectFrom('tasks').select((eb) => eb.fn.max('id').as('m')).where('uid', '=', this.uid).executeTakeFirst()
    return Number(r?.m ?? 0)
  }

  private addCount(db: Kysely<Database>, device: string, status: number, n: number): Promise<void> {
    return addTaskCount(db, this.uid, device, status, n)
  }

  /** Prints still going from the previous stage have finished by the next. */
  private async retireRunning(): Promise<void> {
    await this.handle.db.transaction().execute(async (trx) => {
      const running = await trx
        .selectFrom('tasks')
        .select(['device_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('uid', '=', this.uid)
        .where('status', '=', 4)
        .groupBy('device_id')
        .execute()
      if (running.length === 0) return
      await trx
        .updateTable('tasks')
        .set((eb) => ({ status: 2, end_time: eb('start_time', '+', eb('cost_time', '*', 1000)) }))
        .where('uid', '=', this.uid)
        .where('status', '=', 4)
        .execute()
      for (const r of running) {
        await this.addCount(trx, r.device_id, 4, -Number(r.n))
        await this.addCount(trx, r.device_id, 2, Number(r.n))
      }
    })
  }

  /** Each printer's state follows its newest task: printing, paused, done, idle or silent. */
  private async updateDevices(): Promise<void> {
    const { db } = this.handle
    await db.transaction().execute(async (trx) => {
      for (let d = 0; d < DEVICE_COUNT; d++) {
        const activity = activityOf(d)
        const newest =
          activity === 'RUNNING' || activity === 'PAUSE' || activity === 'FINISH'
            ? await trx
                .selectFrom('tasks')
                .select(['id', 'title', 'start_time', 'created_at', 'status'])
                .where('uid', '=', this.uid)
                .where('device_id', '=', deviceId(d))
                .orderBy('id', 'desc')
                .limit(1)
                .executeTakeFirst()
            : undefined
        if (newest && isPrinting(d) && newest.status !== 4) throw new Error(`bench seed: newest task of device ${d} is not running`)
        const task = newest ? { id: newest.id, title: newest.title, start: newest.start_time ?? newest.created_at } : null
        await trx
          .updateTable('devices')
          .set({ state: printerState(d, task), ...liveFacts(printerState(d, task)), current_task_id: task?.id ?? null, updated_at: this.now })
          .where('dev_id', '=', deviceId(d))
          .execute()
      }
    })
  }

  /** `total` comes from task_counts: it must agree with the rows. */
  private async verify(target: number): Promise<void> {
    const { db } = this.handle
    const rows = await db.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).where('uid', '=', this.uid).executeTakeFirstOrThrow()
    const counted = await db.selectFrom('task_counts').select((eb) => eb.fn.sum<number>('n').as('n')).where('uid', '=', this.uid).where('device_id', '=', ALL_DEVICES).executeTakeFirstOrThrow()
    if (Number(rows.n) !== target || Number(counted.n) !== target) {
      throw new Error(`bench seed: ${rows.n} task rows and a task_counts total of ${counted.n}, expected ${target}`)
    }
  }

  close(): Promise<void> {
    return this.handle.db.destroy()
  }
}

/** The indices in [from, to) that are the newest task of their printer. */
function lastOfEachDevice(from: number, to: number): Set<number> {
  const seen = new Set<number>()
  const last = new Set<number>()
  for (let i = to - 1; i >= from && seen.size < DEVICE_COUNT; i--) {
    const d = taskDevice(i)
    if (seen.has(d)) continue
    seen.add(d)
    last.add(i)
  }
  return last
}
