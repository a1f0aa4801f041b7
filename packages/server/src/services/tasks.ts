/**
 * Tasks: the print history. Created by `POST my/task` or, for prints started on the LAN,
 * by the device-state service; moved through their statuses only by the device-state
 * service. Counts per user, device and status are kept alongside, so `total` stays cheap;
 * each task change commits with its count changes, and a start recounts them from the tasks.
 */
import { sql, type Kysely, type Selectable } from 'kysely'
import type { CreateTaskRequest, TaskHit } from '@bambu-cloud/protocol'
import type { ServiceContext } from '../context.ts'
import type { Database, TaskCountsTable, TasksTable } from '../db/schema.ts'
import { ApiError } from '../errors.ts'
import { isObject, ofType, parseObject, type JsonObject } from '../lib/json.ts'
import { Signal } from '../lib/signal.ts'
import { isoUtc } from '../lib/time.ts'

export type TaskRow = Selectable<TasksTable>

export const TASK_CREATED = 0
export const TASK_FINISHED = 2
export const TASK_FAILED = 3
export const TASK_RUNNING = 4
const ENDED = [TASK_FINISHED, TASK_FAILED]

/** The message type a finished or failed print yields. */
export const PRINT_MESSAGE_TYPE = 6

export const MAX_PAGE = 500
export const DEFAULT_PAGE = 20

/** Typed columns; everything else a client sends goes to `extra`. */
const COLUMNS = new Set(['id', 'deviceId', 'status', 'mode', 'title', 'cover', 'modelId', 'profileId', 'plateIndex', 'designId', 'weight', 'length', 'costTime', 'startTime', 'endTime', 'deviceModel', 'deviceName'])

/** The `task_counts` device id of the per-user row that counts every device. */
export const ALL_DEVICES = '*'

/**
 * Adds count changes to the maintained counts in one statement, rows in one order for every
 * writer: transactions that change counts of the same rows (a report batch, a new task) then
 * wait for each other instead of deadlocking.
 */
async function writeTaskCounts(db: Kysely<Database>, changes: Iterable<TaskCountsTable>): Promise<void> {
  const rows = [...changes]
    .filter((c) => c.n !== 0)
    .sort((a, b) => a.uid - b.uid || (a.device_id < b.device_id ? -1 : a.device_id > b.device_id ? 1 : 0) || a.status - b.status)
  if (rows.length === 0) return
  await db
    .insertInto('task_counts')
    .values(rows)
    .onConflict((oc) => oc.columns(['uid', 'device_id', 'status']).doUpdateSet((eb) => ({ n: eb('task_counts.n', '+', eb.ref('excluded.n')) })))
    .execute()
}

/** Adds `delta` tasks of a status on a device to the maintained counts (and to the all-devices row). */
export function addTaskCount(db: Kysely<Database>, uid: number, deviceId: string, status: number, delta: number): Promise<void> {
  return writeTaskCounts(db, [
    { uid, device_id: deviceId, status, n: delta },
    { uid, device_id: ALL_DEVICES, status, n: delta },
  ])
}

export interface NewTask {
  uid: number
  deviceId: string
  deviceModel: string
  deviceName: string
  mode: string
  title: string
  cover?: string | null
  modelId?: string
  profileId?: number
  plateIndex?: number
  designId?: number
  weight?: number
  length?: number
  costTime?: number
  startTime?: number | null
  lanKey?: string | null
  extra?: JsonObject
}

export interface PlateFacts {
  cover: string | null
  weight: number
  costTime: number
  length: number
  /** Grams per filament, by its number in the project (from 1). */
  filaments?: { id: number; grams: number }[]
  /** The plate's bed type from its 3MF, e.g. `textured_plate`. */
  bedType?: string | null
}

/**
 * Each `amsDetailMapping` entry with its `weight` (grams; Home Assistant reads it on every
 * entry): as the client sent it, else the plate's filament it maps. Entries map the plate's
 * filaments in order when there is one per filament, else the project's filaments by number.
 */
function withWeights(mapping: unknown[], filaments: { id: number; grams: number }[]): unknown[] {
  return mapping.map((entry, i) => {
    if (!isObject(entry) || typeof entry.weight === 'number') return entry
    const filament = mapping.length === filaments.length ? filaments[i] : filaments.find((f) => f.id === i + 1)
    return { ...entry, weight: filament?.grams ?? 0 }
  })
}

export interface Page {
  limit?: number | undefined
  offset?: number | undefined
  after?: number | undefined
}

export class TaskService {
  /** Fires with each task `POST my/task` created, once it is stored (the LAN bridge delivers its file). */
  readonly created = new Signal<TaskRow>((err) => this.ctx.log.error({ err }, 'a listener of new tasks failed'))
  /** The count changes of each open `transaction`, written when its work is done. */
  private readonly countChanges = new WeakMap<Kysely<Database>, Map<string, TaskCountsTable>>()

  constructor(private readonly ctx: ServiceContext) {}

  /** The placeholder image of a task whose plate thumbnail is unknown. */
  get placeholderCover(): string {
    return `${this.ctx.config.publicUrl}/assets/task-cover.png`
  }

  /**
   * Runs `work` in a transaction in which tasks may be created and moved: their count
   * changes are written at its end, with them.
   */
  transaction<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.ctx.database.db.transaction().execute(async (trx) => {
      const changes = new Map<string, TaskCountsTable>()
      this.countChanges.set(trx, changes)
      const result = await work(trx)
      await writeTaskCounts(trx, changes.values())
      return result
    })
  }

  /** Runs `work` in `db` when that is one of our transactions, else in a new one. */
  private atomically<T>(db: Kysely<Database>, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return db.isTransaction ? work(db) : this.transaction(work)
  }

  insert(db: Kysely<Database>, task: NewTask, now = this.ctx.now()): Promise<TaskRow> {
    return this.atomically(db, async (trx) => {
      const row = await trx
        .insertInto('tasks')
        .values({
          uid: task.uid,
          device_id: task.deviceId,
          status: TASK_CREATED,
          mode: task.mode,
          title: task.title,
          cover: task.cover ?? null,
          model_id: task.modelId ?? '',
          profile_id: task.profileId ?? 0,
          plate_index: task.plateIndex ?? 0,
          design_id: task.designId ?? 0,
          weight: task.weight ?? 0,
          length: task.length ?? 0,
          cost_time: task.costTime ?? 0,
          device_model: task.deviceModel,
          device_name: task.deviceName,
          start_time: task.startTime ?? null,
          end_time: null,
          lan_key: task.lanKey ?? null,
          extra: JSON.stringify(task.extra ?? {}),
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      this.count(trx, row.uid, row.device_id, TASK_CREATED, 1)
      return row
    })
  }

  /** `POST my/task`: a task from a client's task object, on one of its devices; announced on `created`. */
  async create(
    db: Kysely<Database>,
    uid: number,
    body: CreateTaskRequest,
    device: { dev_model_name: string; name: string },
    plate: PlateFacts | null,
  ): Promise<TaskRow> {
    const extra: JsonObject = {}
    for (const [key, value] of Object.entries(body)) if (!COLUMNS.has(key)) extra[key] = value
    if (Array.isArray(extra.amsDetailMapping)) extra.amsDetailMapping = withWeights(extra.amsDetailMapping, plate?.filaments ?? []) as JsonObject[]
    if (!extra.bedType && plate?.bedType) extra.bedType = plate.bedType
    const profileId = typeof body.profileId === 'string' ? Number(body.profileId || 0) : body.profileId
    const row = await this.insert(db, {
      uid,
      deviceId: body.deviceId,
      deviceModel: device.dev_model_name,
      deviceName: device.name,
      mode: body.mode ?? 'cloud_file',
      title: body.title ?? 'Untitled',
      // Bambu Connect sends `cover: ""`: no cover, so the placeholder (or the plate's, later) shows.
      cover: plate?.cover ?? (body.cover || null),
      modelId: body.modelId ?? '',
      profileId: profileId ?? 0,
      plateIndex: body.plateIndex ?? 0,
      designId: body.designId ?? 0,
      weight: plate?.weight ?? body.weight ?? 0,
      length: plate?.length ?? body.length ?? 0,
      costTime: plate?.costTime ?? body.costTime ?? 0,
      extra,
    })
    this.created.emit(row)
    return row
  }

  findOwned(db: Kysely<Database>, uid: number, id: number): Promise<TaskRow | undefined> {
    if (!Number.isSafeInteger(id)) return Promise.resolve(undefined)
    return db.selectFrom('tasks').selectAll().where('id', '=', id).where('uid', '=', uid).executeTakeFirst()
  }

  /** A task of the caller, or 403 (also for ids that do not exist: existence is not told). */
  async ownedOrForbidden(uid: number, id: number): Promise<TaskRow> {
    const row = await this.findOwned(this.ctx.database.db, uid, id)
    if (!row) throw new ApiError('forbidden')
    return row
  }

  findLan(db: Kysely<Database>, uid: number, deviceId: string, lanKey: string): Promise<TaskRow | undefined> {
    return db
      .selectFrom('tasks')
      .selectAll()
      .where('uid', '=', uid)
      .where('device_id', '=', deviceId)
      .where('lan_key', '=', lanKey)
      .orderBy('id', 'desc')
      .executeTakeFirst()
  }

  /**
   * Moves a task to a status. An ended task (finished or failed) never moves again; the
   * move that ends it sets `end_time` (and a failure's reason, when known) and yields the
   * one type-6 message.
   */
  transition(db: Kysely<Database>, task: TaskRow, status: number, now: number, startTime?: number, failReason?: string): Promise<TaskRow> {
    if (ENDED.includes(task.status) || task.status === status) return Promise.resolve(task)
    return this.atomically(db, (trx) => this.move(trx, task, status, now, startTime, failReason))
  }

  private async move(db: Kysely<Database>, task: TaskRow, status: number, now: number, startTime?: number, failReason?: string): Promise<TaskRow> {
    const ending = ENDED.includes(status)
    const updated = await db
      .updateTable('tasks')
      .set({
        status,
        start_time: task.start_time ?? startTime ?? now,
        end_time: ending ? now : null,
        ...(status === TASK_FAILED && failReason ? { fail_reason: failReason } : {}),
        updated_at: now,
      })
      .where('id', '=', task.id)
      .where('status', '=', task.status)
      .returningAll()
      .executeTakeFirst()
    if (!updated) return task
    this.count(db, task.uid, task.device_id, task.status, -1)
    this.count(db, task.uid, task.device_id, status, 1)
    if (ending) {
      await db.insertInto('messages').values({ uid: task.uid, type: PRINT_MESSAGE_TYPE, task_id: task.id, created_at: now }).execute()
    }
    return updated
  }

  /** Notes `delta` tasks of a status on a device (and on all devices) for the end of the transaction. */
  private count(trx: Kysely<Database>, uid: number, deviceId: string, status: number, delta: number): void {
    const changes = this.countChanges.get(trx)
    if (!changes) throw new Error('tasks change only inside TaskService.transaction()')
    for (const device_id of [deviceId, ALL_DEVICES]) {
      const key = `${uid}|${device_id}|${status}`
      const change = changes.get(key) ?? { uid, device_id, status, n: 0 }
      change.n += delta
      changes.set(key, change)
    }
  }

  /**
   * Rebuilds the counts from the tasks, in one transaction, so counts left wrong (by a
   * crash between writes, before they shared a transaction) heal at the next start. Other
   * servers on the same database keep serving meanwhile: their task writes wait for it,
   * their reads do not. Two grouped inserts, so it stays quick at millions of tasks.
   */
  recount(): Promise<void> {
    const { db, dialect } = this.ctx.database
    return db.transaction().execute(async (trx) => {
      // SQLite: the delete below takes the one write lock. PostgreSQL: this lock waits for
      // transactions writing tasks to commit, holds off new ones, and lets one recount run at a time.
      if (dialect === 'postgres') await sql`lock table tasks in share row exclusive mode`.execute(trx)
      await trx.deleteFrom('task_counts').execute()
      await trx
        .insertInto('task_counts')
        .columns(['uid', 'device_id', 'status', 'n'])
        .expression((eb) => eb.selectFrom('tasks').select(['uid', 'device_id', 'status', eb.fn.countAll<number>().as('n')]).groupBy(['uid', 'device_id', 'status']))
        .execute()
      await trx
        .insertInto('task_counts')
        .columns(['uid', 'device_id', 'status', 'n'])
        .expression((eb) =>
          eb
            .selectFrom('task_counts')
            .select(['uid', eb.val(ALL_DEVICES).as('device_id'), 'status', eb.fn.sum<number>('n').as('n')])
            .groupBy(['uid', 'status']),
        )
        .execute()
    })
  }

  /** Newest first; `after` continues past a task id, `offset` then counts from there. */
  async list(uid: number, filter: { deviceId?: string | undefined; status?: number | undefined }, page: Page) {
    const { db } = this.ctx.database
    const limit = Math.min(page.limit ?? DEFAULT_PAGE, MAX_PAGE)
    let q = db.selectFrom('tasks').selectAll().where('uid', '=', uid)
    let c = db.selectFrom('task_counts').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('n'), eb.lit(0)).as('total')).where('uid', '=', uid)
    if (filter.deviceId) q = q.where('device_id', '=', filter.deviceId)
    c = c.where('device_id', '=', filter.deviceId || ALL_DEVICES)
    if (filter.status) {
      q = q.where('status', '=', filter.status)
      c = c.where('status', '=', filter.status)
    }
    if (page.after !== undefined && page.after > 0) q = q.where('id', '<', page.after)
    const [rows, count] = await Promise.all([
      limit === 0 ? Promise.resolve([] as TaskRow[]) : q.orderBy('id', 'desc').limit(limit).offset(page.offset ?? 0).execute(),
      c.executeTakeFirstOrThrow(),
    ])
    return { total: Number(count.total), hits: rows.map((r) => this.hit(r)) }
  }

  /** A task as the wire shows it: the typed fields win over anything kept in `extra`. */
  hit(row: TaskRow): TaskHit {
    const extra = parseObject(row.extra)
    const start = row.start_time ?? row.created_at
    const material = isObject(extra.material) ? extra.material : {}
    const hit: TaskHit = {
      id: row.id,
      designId: row.design_id,
      designTitle: ofType(extra.designTitle, ''),
      instanceId: ofType(extra.instanceId, 0),
      modelId: row.model_id,
      title: row.title,
      cover: row.cover ?? this.placeholderCover,
      status: row.status,
      failedType: ofType(extra.failedType, 0),
      feedbackStatus: ofType(extra.feedbackStatus, 0),
      startTime: isoUtc(start),
      endTime: isoUtc(row.end_time ?? start),
      weight: row.weight,
      length: row.length,
      costTime: row.cost_time,
      profileId: row.profile_id,
      plateIndex: row.plate_index,
      plateName: ofType(extra.plateName, ''),
      deviceId: row.device_id,
      deviceModel: row.device_model,
      deviceName: row.device_name,
      bedType: ofType(extra.bedType, ''),
      amsDetailMapping: Array.isArray(extra.amsDetailMapping) ? extra.amsDetailMapping.filter(isObject) : [],
      mode: row.mode,
      isPublicProfile: ofType(extra.isPublicProfile, false),
      isPrintable: ofType(extra.isPrintable, true),
      material: { id: ofType(material.id, ''), name: ofType(material.name, '') },
    }
    if (row.fail_reason !== null) hit.failedReason = row.fail_reason
    // Then the rest of `extra`. Built in this order, not as `{ ...extra, <typed fields> }`:
    // V8 makes that spread (typed keys overwriting copied ones) about 7x slower per task.
    for (const key of Object.keys(extra)) {
      if (Object.hasOwn(hit, key)) continue
      // A `__proto__` key stays a plain field, as the spread kept it, never the prototype.
      if (key === '__proto__') Object.defineProperty(hit, key, { value: extra[key], enumerable: true, writable: true, configurable: true })
      else (hit as Record<string, unknown>)[key] = extra[key]
    }
    return hit
  }
}
