/**
 * Crash safety: the real server under concurrent writes (tasks, presets, renames over HTTP;
 * printers' reports through the broker) is killed with SIGKILL and restarted on the same
 * database, a few times. Every write acknowledged before the kill must be there, the task
 * counts must match the task rows (already on disk, before the start-up recount), and the
 * database must pass its integrity check. Also: counts written wrong heal at the next start.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import mqtt from 'mqtt'
import { sql } from 'kysely'
import { openDatabase } from '../src/db/database.ts'
import { adminRequest, registerFleet } from '../src/simulator/registration.ts'
import { ADMIN_TOKEN, PASSWORD, bearer, startTestApp } from './helpers/app.ts'
import { createTestDatabase, onPostgres, type TestDatabase } from './helpers/database.ts'
import { eventually, printReport } from './helpers/mqtt.ts'
import { freePort } from './helpers/ports.ts'
import { startServer, type ServerProcess } from './helpers/process.ts'

const ACCESS_CODE = '24681357'
const CYCLES = 3
/** The statuses `my/tasks` filters on (0 is all): finished, failed, running. */
const FILTERED_STATUSES = [2, 3, 4]

/** A small seeded generator (mulberry32): the same kill points on every run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A value written by one sequential writer: the last one answered, and the one in flight. */
interface Tracked {
  acked: string | number | null
  pending: string | number | null
}

interface User {
  account: string
  token: string
  devIds: string[]
}

interface Print extends Tracked {
  uid: number
  devId: string
  title: string
  /** `gcode_start_time`: with the title, what makes a LAN print one task. */
  start: string
}

async function start(db: Pick<TestDatabase, 'url' | 'dataDir'>, mqttPort: number): Promise<ServerProcess> {
  const server = await startServer({ DATA_DIR: db.dataDir, DATABASE_URL: db.url, ADMIN_TOKEN, MQTT_TLS_PORT: 'off', MQTT_PORT: String(mqttPort) })
  await eventually(() => server.stdout().includes('MQTT broker listening'), 30_000)
  return server
}

async function call(server: ServerProcess, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(server.url(path), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, body: await res.json() }
}

async function ok(server: ServerProcess, token: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await call(server, token, method, path, body)
  assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(res.body)}`)
  return res.body
}

/** Every task of a user, through the API, newest first. */
async function allTasks(server: ServerProcess, token: string): Promise<any[]> {
  const all: any[] = []
  for (;;) {
    const after = all.length ? `&after=${all[all.length - 1].id}` : ''
    const page = await ok(server, token, 'GET', `/v1/user-service/my/tasks?limit=500${after}`)
    all.push(...page.hits)
    if (page.hits.length < 500) return all
  }
}

/** The counts as stored, and as the task rows say they should be: `uid|device|status=n`, sorted. */
async function storedAndActualCounts(db: Pick<TestDatabase, 'url'>): Promise<{ stored: string[]; actual: string[]; integrity: string }> {
  const handle = openDatabase(db.url)
  try {
    const stored = await handle.db.selectFrom('task_counts').select(['uid', 'device_id', 'status', 'n']).where('n', '<>', 0).execute()
    const rows = await handle.db
      .selectFrom('tasks')
      .select(['uid', 'device_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['uid', 'device_id', 'status'])
      .execute()
    const actual = new Map<string, number>()
    for (const r of rows) {
      actual.set(`${r.uid}|${r.device_id}|${r.status}`, Number(r.n))
      const all = `${r.uid}|*|${r.status}`
      actual.set(all, (actual.get(all) ?? 0) + Number(r.n))
    }
    const integrity = onPostgres ? 'ok' : (await sql<{ integrity_check: string }>`pragma integrity_check`.execute(handle.db)).rows.map((r) => r.integrity_check).join(';')
    return {
      stored: stored.map((r) => `${r.uid}|${r.device_id}|${r.status}=${Number(r.n)}`).sort(),
      actual: [...actual].map(([k, n]) => `${k}=${n}`).sort(),
      integrity,
    }
  } finally {
    await handle.db.destroy()
  }
}

/** `total` of `my/tasks` for every filter the counts serve equals the rows it counts. */
async function assertTotals(server: ServerProcess, user: User, tasks: any[]): Promise<void> {
  const filters: { deviceId?: string; status?: number }[] = [{}]
  for (const status of FILTERED_STATUSES) filters.push({ status })
  for (const deviceId of user.devIds) {
    filters.push({ deviceId })
    for (const status of FILTERED_STATUSES) filters.push({ deviceId, status })
  }
  for (const f of filters) {
    const query = new URLSearchParams({ limit: '0', ...(f.deviceId ? { deviceId: f.deviceId } : {}), ...(f.status ? { status: String(f.status) } : {}) })
    const page = await ok(server, user.token, 'GET', `/v1/user-service/my/tasks?${query}`)
    const rows = tasks.filter((t) => (!f.deviceId || t.deviceId === f.deviceId) && (!f.status || t.status === f.status)).length
    assert.equal(page.total, rows, `${user.account} total for ${JSON.stringify(f)}`)
  }
}

/** True when the stored value is one the writer may have left: the acknowledged one or the one in flight. */
function settled(tracked: Tracked, found: string | number | null): boolean {
  return found === tracked.acked || found === tracked.pending
}

test('SIGKILL under concurrent writes loses no acknowledged write, leaves counts equal to rows, and the database whole', { timeout: 120_000 }, async (t) => {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  const mqttPort = await freePort()
  const random = seeded(20261208)
  let server = await start(db, mqttPort)
  t.after(() => server.stop('SIGKILL'))

  const users: (User & { uid: number })[] = []
  for (const n of [1, 2]) {
    const account = `crash${n}@example.com`
    const created = await adminRequest(server.url('/'), ADMIN_TOKEN, 'POST', '/admin/v1/users', { account, password: PASSWORD })
    assert.equal(created.status, 201)
    const devIds = [`01S00C${n}00000001`, `01S00C${n}00000002`]
    await registerFleet({ baseUrl: server.url('/'), adminToken: ADMIN_TOKEN, owner: account, devIds, accessCode: ACCESS_CODE, model: 'C12' })
    const login = await fetch(server.url('/v1/user-service/user/login'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account, password: PASSWORD }) })
    users.push({ account, uid: created.body.uid, token: (await login.json()).accessToken, devIds })
  }

  const tasks = new Map<number, { uid: number; deviceId: string; title: string }>()
  const presets = new Map<string, Tracked & { uid: number }>()
  const names = new Map<string, Tracked>()
  const prints: Print[] = []
  let printNumber = 0

  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    // Kill after a seeded number of acknowledged writes, while every writer is busy.
    const killAfter = 40 + Math.floor(random() * 60)
    let acked = 0
    let killed = false
    const live = server
    const kill = () => {
      killed = true
      live.child.kill('SIGKILL')
    }
    const ack = () => {
      if (++acked === killAfter) kill()
    }
    /** Runs a writer until the kill; a failure before it fails the test (and ends the others). */
    const writer = async (step: () => Promise<void>) => {
      while (!killed) {
        try {
          await step()
        } catch (err) {
          if (killed) return
          kill()
          throw err
        }
      }
    }
    const printers = new Map<string, mqtt.MqttClient>()
    const closed = new Map<string, Promise<never>>()
    for (const devId of users.flatMap((u) => u.devIds)) {
      const printer = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: devId, password: ACCESS_CODE, reconnectPeriod: 0, protocolVersion: 4 })
      printer.on('error', () => {})
      printers.set(devId, printer)
      const gone = new Promise<never>((_, reject) => printer.once('close', () => reject(new Error('connection closed'))))
      gone.catch(() => {})
      closed.set(devId, gone)
    }
    const writers: Promise<void>[] = []
    for (const user of users) {
      for (let i = 0; i < 2; i++) {
        writers.push(
          writer(async () => {
            const deviceId = user.devIds[Math.floor(random() * user.devIds.length)]!
            const title = `task ${cycle}-${tasks.size}-${Math.floor(random() * 1e9)}`
            const { id } = await ok(live, user.token, 'POST', '/v1/user-service/my/task', { deviceId, title, weight: 1.5 })
            tasks.set(id, { uid: user.uid, deviceId, title })
            ack()
          }),
        )
      }
      const own = () => [...presets].filter(([, p]) => p.uid === user.uid)
      writers.push(
        writer(async () => {
          const mine = own()
          if (mine.length < 3 || random() < 0.2) {
            const name = `preset ${cycle}-${Math.floor(random() * 1e9)}`
            const saved = await ok(live, user.token, 'POST', '/v1/iot-service/api/slicer/setting', { name, type: 'filament', version: '2.4.0.5', setting: { n: name } })
            presets.set(saved.setting_id, { uid: user.uid, acked: name, pending: null })
          } else {
            const [id, preset] = mine[Math.floor(random() * mine.length)]!
            preset.pending = `renamed ${cycle}-${Math.floor(random() * 1e9)}`
            await ok(live, user.token, 'PATCH', `/v1/iot-service/api/slicer/setting/${id}`, { name: preset.pending })
            preset.acked = preset.pending
            preset.pending = null
          }
          ack()
        }),
      )
      writers.push(
        writer(async () => {
          const devId = user.devIds[Math.floor(random() * user.devIds.length)]!
          const name = names.get(devId) ?? { acked: null, pending: null }
          names.set(devId, name)
          name.pending = `Printer ${cycle}-${Math.floor(random() * 1e9)}`
          await ok(live, user.token, 'PATCH', '/v1/iot-service/api/user/device/info', { dev_id: devId, dev_name: name.pending })
          name.acked = name.pending
          name.pending = null
          ack()
        }),
      )
      for (const devId of user.devIds) {
        // A printer on the broker: each print starts (RUNNING) and ends (FINISH or FAILED); a
        // step counts as acknowledged once `my/tasks` shows it.
        const printer = printers.get(devId)!
        const step = async (print: Print, gcodeState: string, status: number) => {
          print.pending = status
          // A publish the killed server never acknowledges would wait for a reconnect forever.
          const payload = printReport({ gcode_state: gcodeState, subtask_name: print.title, gcode_start_time: print.start })
          await Promise.race([printer.publishAsync(`device/${devId}/report`, payload, { qos: 1 }), closed.get(devId)])
          await eventually(async () => {
            if (killed) throw new Error('killed')
            const page = await ok(live, user.token, 'GET', `/v1/user-service/my/tasks?deviceId=${devId}&status=${status}&limit=20`)
            return page.hits.some((h: { title: string }) => h.title === print.title)
          }, 20_000)
          print.acked = status
          print.pending = null
          ack()
        }
        writers.push(
          writer(async () => {
            const n = ++printNumber
            const print: Print = { uid: user.uid, devId, title: `print ${n}`, start: String(1_765_000_000 + n), acked: null, pending: null }
            prints.push(print)
            await step(print, 'RUNNING', 4)
            const failed = random() < 0.3
            await step(print, failed ? 'FAILED' : 'FINISH', failed ? 3 : 2)
          }),
        )
      }
    }
    await Promise.all(writers)
    await server.exited
    for (const printer of printers.values()) printer.end(true)
    assert.ok(acked >= killAfter)

    // On disk, before any start-up recount: counts equal rows, and SQLite's file is whole.
    const disk = await storedAndActualCounts(db)
    assert.equal(disk.integrity, 'ok')
    assert.deepEqual(disk.stored, disk.actual, `cycle ${cycle}: stored counts drifted from the task rows`)

    server = await start(db, mqttPort)
    for (const user of users) {
      const rows = await allTasks(server, user.token)
      const byId = new Map(rows.map((r) => [r.id, r]))
      for (const [id, task] of tasks) {
        if (task.uid !== user.uid) continue
        const row = byId.get(id)
        assert.ok(row, `acknowledged task ${id} is there`)
        assert.deepEqual([row.deviceId, row.title, row.status, row.weight], [task.deviceId, task.title, 0, 1.5])
      }
      for (const print of prints.filter((p) => p.uid === user.uid)) {
        const found = rows.filter((r) => r.title === print.title && r.deviceId === print.devId)
        assert.ok(found.length <= 1, `one task per print: ${print.title}`)
        const status = found[0]?.status ?? null
        assert.ok(settled(print, status), `${print.title}: acknowledged ${print.acked}, in flight ${print.pending}, found ${status}`)
        // A print left running is failed by the printer's next print.
        print.acked = status
        print.pending = status === 4 ? 3 : null
      }
      await assertTotals(server, user, rows)
      const bound = await ok(server, user.token, 'GET', '/v1/iot-service/api/user/bind')
      for (const device of bound.devices) {
        const name = names.get(device.dev_id)
        if (!name) continue
        assert.ok(settled(name, device.name), `${device.dev_id}: acknowledged ${name.acked}, in flight ${name.pending}, found ${device.name}`)
        name.acked = device.name
        name.pending = null
      }
    }
    for (const [id, preset] of presets) {
      const user = users.find((u) => u.uid === preset.uid)!
      const read = await ok(server, user.token, 'GET', `/v1/iot-service/api/slicer/setting/${id}`)
      assert.ok(settled(preset, read.name), `${id}: acknowledged ${preset.acked}, in flight ${preset.pending}, found ${read.name}`)
      preset.acked = read.name
      preset.pending = null
    }
  }

  // Still serving after the last restart: a new task counts.
  const user = users[0]!
  const before = (await ok(server, user.token, 'GET', '/v1/user-service/my/tasks?limit=0')).total
  await ok(server, user.token, 'POST', '/v1/user-service/my/task', { deviceId: user.devIds[0], title: 'after the crashes' })
  assert.equal((await ok(server, user.token, 'GET', '/v1/user-service/my/tasks?limit=0')).total, before + 1)
  assert.equal(await server.stop(), 0)
})

test('task counts written wrong heal at the next start', async (t: TestContext) => {
  // The tasks are made in-process; the start that heals them is the real one.
  const s = await startTestApp(t)
  const account = 'heal@example.com'
  const { uid } = await s.createUser(account)
  const token = (await s.login(account)).accessToken
  const devIds = ['01S00C900000001', '01S00C900000002']
  for (const dev_id of devIds) {
    const res = await s.admin({ method: 'POST', url: '/admin/v1/devices', payload: { dev_id, name: dev_id, dev_model_name: 'C12', dev_product_name: 'P1S', dev_access_code: ACCESS_CODE, owner: account } })
    assert.equal(res.statusCode, 201, res.body)
  }
  const create = async (deviceId: string) => {
    const res = await s.request({ method: 'POST', url: '/v1/user-service/my/task', headers: bearer(token), payload: { deviceId, title: 't' } })
    assert.equal(res.statusCode, 200, res.body)
    return res.json().id as number
  }
  for (const deviceId of [devIds[0]!, devIds[0]!, devIds[1]!]) await create(deviceId)
  const running = await create(devIds[1]!)
  const report = await s.admin({ method: 'POST', url: `/admin/v1/devices/${devIds[1]}/report`, payload: { print: { command: 'push_status', gcode_state: 'RUNNING', task_id: String(running) } } })
  assert.equal(report.statusCode, 204)

  // Wrong in every way a count can be: too high, missing, and for tasks that do not exist.
  const { db } = s.database
  await db.updateTable('task_counts').set({ n: 7 }).where('uid', '=', uid).where('device_id', '=', '*').where('status', '=', 0).execute()
  await db.deleteFrom('task_counts').where('uid', '=', uid).where('device_id', '=', devIds[0]!).execute()
  await db.insertInto('task_counts').values({ uid, device_id: 'GHOST', status: 2, n: 5 }).execute()
  const target = { url: s.config.databaseUrl, dataDir: s.config.dataDir }
  const broken = await storedAndActualCounts(target)
  assert.notDeepEqual(broken.stored, broken.actual)

  const server = await start(target, await freePort())
  t.after(() => server.stop('SIGKILL'))
  const user: User = { account, token, devIds }
  const rows = await allTasks(server, token)
  assert.equal(rows.length, 4)
  await assertTotals(server, user, rows)
  assert.equal((await ok(server, token, 'GET', '/v1/user-service/my/tasks?limit=0')).total, 4)
  assert.equal((await ok(server, token, 'GET', `/v1/user-service/my/tasks?limit=0&deviceId=${devIds[0]}`)).total, 2)
  assert.equal((await ok(server, token, 'GET', '/v1/user-service/my/tasks?limit=0&status=4')).total, 1)
  assert.equal((await ok(server, token, 'GET', '/v1/user-service/my/tasks?limit=0&deviceId=GHOST')).total, 0)
  assert.equal(await server.stop(), 0)
  const healed = await storedAndActualCounts(target)
  assert.deepEqual(healed.stored, healed.actual)
  assert.deepEqual(healed.stored, [`${uid}|*|0=3`, `${uid}|*|4=1`, `${uid}|${devIds[0]}|0=2`, `${uid}|${devIds[1]}|0=1`, `${uid}|${devIds[1]}|4=1`].sort())
})
