/**
 * `npm run bench`: seeds a database, starts the real server (main.ts) pinned to CPU 0,
 * loads three endpoints with autocannon from CPU 1, compares each with a bare node:http
 * server sending the same bytes, and prints a markdown report on stdout (progress on
 * stderr). A measurement, not a test: it exits 0 when a target is missed, and marks it.
 *
 *   BENCH_QUICK=1      small sizes (1k / 10k / 50k) and 2 s runs, to smoke-test the bench
 *   BENCH_DURATION=S   seconds measured per row and server (default 10, quick 2)
 *   BENCH_CPU_PROF=DIR also write a V8 CPU profile of each server process to DIR
 *   DATABASE_URL       postgres://... to run on a fresh schema of that database
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { killAll, pinning, runLoad, startBare, startServer, stopOnSignalOrDeadline, watchRss, type BareRoute, type Proc } from './procs.ts'
import { renderReport, size, type Row } from './report.ts'
import { ACCOUNT, PASSWORD, Seeder, createBenchDatabase, describeDatabase, type BenchDatabase } from './seed.ts'

const quick = process.env.BENCH_QUICK === '1'
const duration = Number(process.env.BENCH_DURATION) > 0 ? Number(process.env.BENCH_DURATION) : quick ? 2 : 10
const warmup = quick ? 1 : 3
const connections = 50
const [SMALL, MAIN, LARGE] = quick ? [1_000, 10_000, 50_000] : [10_000, 100_000, 1_000_000]
const cpuProfDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined

const ENDPOINTS = {
  'user/bind': '/v1/iot-service/api/user/bind',
  'user/print': '/v1/iot-service/api/user/print',
  'my/tasks?limit=20': '/v1/user-service/my/tasks?limit=20',
} as const
type Endpoint = keyof typeof ENDPOINTS

/** Sizes in ascending order: each stage tops the same history up. */
const STAGES: { tasks: number; endpoints: Endpoint[] }[] = [
  { tasks: SMALL, endpoints: ['my/tasks?limit=20'] },
  { tasks: MAIN, endpoints: ['user/bind', 'user/print', 'my/tasks?limit=20'] },
  { tasks: LARGE, endpoints: ['my/tasks?limit=20'] },
]

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`)

// Everything stops by itself: children die with us, and the whole run has a deadline.
let bench: BenchDatabase | undefined
let seeder: Seeder | undefined
async function cleanup(): Promise<void> {
  killAll()
  await seeder?.close().catch(() => {})
  seeder = undefined
  await bench?.drop().catch((err) => log(`could not drop the bench database: ${(err as Error).message}`))
  bench = undefined
}
process.on('exit', killAll)
const deadline = stopOnSignalOrDeadline(cleanup, (quick ? 15 : 90) * 60_000 + duration * 60_000, log)

async function login(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/user-service/user/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ account: ACCOUNT, password: PASSWORD }),
  })
  const body = (await res.json()) as { accessToken?: string }
  if (res.status !== 200 || !body.accessToken) throw new Error(`login failed: ${res.status} ${JSON.stringify(body)}`)
  return body.accessToken
}

/** The real response once: checked for sense, then kept for the bare server to replay. */
async function record(port: number, endpoint: Endpoint, token: string, tasks: number): Promise<BareRoute> {
  const res = await fetch(`http://127.0.0.1:${port}${ENDPOINTS[endpoint]}`, { headers: { authorization: `Bearer ${token}` } })
  const body = Buffer.from(await res.arrayBuffer())
  if (res.status !== 200) throw new Error(`${endpoint}: HTTP ${res.status}: ${body.toString().slice(0, 500)}`)
  const json = JSON.parse(body.toString()) as { devices?: { task_id?: unknown }[]; total?: number; hits?: { id: number }[] }
  const problem =
    endpoint === 'my/tasks?limit=20'
      ? json.total !== tasks || json.hits?.length !== 20 || json.hits[0]!.id <= json.hits[1]!.id
      : json.devices?.length !== 100 || (endpoint === 'user/print' && !json.devices.some((d) => d.task_id !== null))
  if (problem) throw new Error(`${endpoint}: unexpected answer: ${body.toString().slice(0, 500)}`)
  const headers: Record<string, string> = {}
  res.headers.forEach((value, name) => {
    if (!['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(name)) headers[name] = value
  })
  return { path: ENDPOINTS[endpoint], headers, body }
}

async function main(): Promise<void> {
  const cpus = os.availableParallelism()
  const pin = pinning()
  log(pin.note)
  bench = await createBenchDatabase()
  seeder = await Seeder.open(bench, LARGE)
  const database = await describeDatabase(seeder.handle)
  log(`database: ${database}`)
  const env = {
    DATABASE_URL: bench.url,
    DATA_DIR: path.join(bench.dataDir, 'server'),
    ADMIN_TOKEN: randomBytes(24).toString('hex'),
    LOG_LEVEL: 'warn',
  }
  if (cpuProfDir) fs.mkdirSync(cpuProfDir, { recursive: true })
  const nodeArgs = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []

  const rows: Row[] = []
  const seeding: { tasks: number; seconds: number }[] = []
  const rss: { tasks: number; bytes: number }[] = []
  let token: string | undefined
  for (const stage of STAGES) {
    log(`seeding up to ${size(stage.tasks)} tasks`)
    seeding.push({ tasks: stage.tasks, seconds: await seeder.topUp(stage.tasks) })
    log(`seeded in ${seeding.at(-1)!.seconds.toFixed(1)} s; starting the server`)
    const server = await startServer(pin.server, env, nodeArgs)
    const memory = watchRss(server.pid)
    let bare: Proc | undefined
    try {
      token ??= await login(server.port)
      const auth = { authorization: `Bearer ${token}` }
      const routes: BareRoute[] = []
      for (const e of stage.endpoints) routes.push(await record(server.port, e, token, stage.tasks))
      bare = await startBare(pin.server, routes, bench.dataDir)
      for (const endpoint of stage.endpoints) {
        const load = { headers: auth, connections, duration, warmup }
        log(`${endpoint} at ${size(stage.tasks)} tasks: server`)
        const ours = await runLoad(pin.load, { ...load, url: `http://127.0.0.1:${server.port}${ENDPOINTS[endpoint]}` }, server.pid)
        log(`  ${Math.round(ours.requestsPerSecond)} req/s, p99 ${ours.p99.toFixed(2)} ms; bare server`)
        const theirs = await runLoad(pin.load, { ...load, url: `http://127.0.0.1:${bare.port}${ENDPOINTS[endpoint]}` }, bare.pid)
        log(`  ${Math.round(theirs.requestsPerSecond)} req/s, p99 ${theirs.p99.toFixed(2)} ms`)
        rows.push({ endpoint, tasks: stage.tasks, ours, bare: theirs })
      }
      const warnings = server.output().trim()
      if (warnings) log(`server output:\n${warnings.slice(-2000)}`)
    } finally {
      await bare?.stop()
      rss.push({ tasks: stage.tasks, bytes: memory.stop() })
      await server.stop()
    }
  }

  const tasksRow = (n: number) => rows.find((r) => r.endpoint === 'my/tasks?limit=20' && r.tasks === n)
  const small = tasksRow(SMALL)
  const large = tasksRow(LARGE)
  const cpu = os.cpus()[0]?.model ?? 'unknown'
  const report = renderReport(
    {
      database,
      node: process.version,
      cpu: `${cpu} (${cpus} CPUs available)`,
      pinning: bench.kind === 'postgres' ? `${pin.note}; PostgreSQL's own processes unpinned` : pin.note,
      connections,
      duration,
      warmup,
      seeding,
      rss,
      quick,
    },
    rows,
    small && large ? { small, large } : undefined,
  )
  process.stdout.write(`${report.text}\n`)
  if (cpuProfDir) log(`CPU profiles in ${cpuProfDir}`)
}

try {
  await main()
} catch (err) {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.exitCode = 1
} finally {
  clearTimeout(deadline)
  await cleanup()
}
