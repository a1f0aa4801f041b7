/**
 * The MQTT bench: the real server (main.ts) pinned to CPU 0 with its broker on TLS, a
 * thousand virtual printers reporting every second and one subscriber per user pinned to
 * CPU 1. Measures report -> subscriber latency, reports delivered, lost reports, the
 * server's CPU and memory, and checks that HTTP shows what the printers reported. Prints
 * a markdown report on stdout (progress on stderr); a measurement, not a test: it exits 0
 * when a target is missed, and marks it.
 *
 *   node --conditions=source --import tsx bench/mqtt.ts
 *   BENCH_QUICK=1        100 printers, 3 s warm-up, 5 s measured: a smoke test
 *   BENCH_DURATION=S     seconds measured (default 30)
 *   BENCH_MQTT_PLAIN=1   plain MQTT instead of TLS
 *   BENCH_MQTT_FULL=1    every report the whole state (X1) instead of what changed (P1, A1)
 *   BENCH_MQTT_WILDCARD=1  subscribers use device/+/report instead of one topic per printer
 *   DATABASE_URL         postgres://... to run on a fresh schema of that database
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { fleetDevId } from '../packages/server/src/simulator/fleet.ts'
import { adminRequest, registerFleet } from '../packages/server/src/simulator/registration.ts'
import { openDatabase } from '../packages/server/src/db/database.ts'
import type { ClientsConfig, ClientsResult } from './mqtt-clients.ts'
import { ROOT, cpuSeconds, currentRss, freePort, killAll, machineBusySeconds, peakRss, pinning, startServer, stopOnSignalOrDeadline, watchRss, type Proc } from './procs.ts'
import { createBenchDatabase, describeDatabase, type BenchDatabase } from './seed.ts'

const quick = process.env.BENCH_QUICK === '1'
const plain = process.env.BENCH_MQTT_PLAIN === '1'
const fullReports = process.env.BENCH_MQTT_FULL === '1'
const wildcard = process.env.BENCH_MQTT_WILDCARD === '1'
const duration = Number(process.env.BENCH_DURATION) > 0 ? Number(process.env.BENCH_DURATION) : quick ? 5 : 30
const warmup = quick ? 3 : 10
const PRINTERS = quick ? 100 : 1000
const USERS = 10
const REPORT_INTERVAL_MS = 1000
const DEV_ID_PREFIX = 'MQB'
const ACCESS_CODE = '12345678'
const PASSWORD = 'bench-password-123'

const TARGETS = {
  /** Report -> subscriber p99, ms. */
  p99Ms: 50,
  /** Server RSS, current and peak, bytes. */
  rss: 500 * 1024 * 1024,
}

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`
const int = (v: number) => Math.round(v).toLocaleString('en-US')

// Everything stops by itself: children die with us, and the whole run has a deadline.
let bench: BenchDatabase | undefined
let clients: ChildProcess | undefined
function killClients(): void {
  if (clients && clients.exitCode === null && clients.signalCode === null) clients.kill('SIGKILL')
}
async function cleanup(): Promise<void> {
  killClients()
  killAll()
  await bench?.drop().catch((err) => log(`could not drop the bench database: ${(err as Error).message}`))
  bench = undefined
}
process.on('exit', () => {
  killClients()
  killAll()
})
const deadline = stopOnSignalOrDeadline(cleanup, (10 * 60 + warmup + duration) * 1000, log)

/** main.ts starts the broker after HTTP answers: wait until its port accepts connections. */
async function waitForPort(port: number, server: Proc): Promise<void> {
  const until = Date.now() + 30_000
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1')
      socket.once('connect', () => (socket.destroy(), resolve(true)))
      socket.once('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > until) throw new Error(`MQTT port ${port} not open within 30 s:\n${server.output()}`)
    await sleep(100)
  }
}

/** Runs `method path` on the admin API and returns the JSON answer; throws on a status other than `expect`. */
async function call<T>(port: number, method: string, url: string, token: string, body: unknown, expect = 200): Promise<T> {
  const res = await adminRequest(`http://127.0.0.1:${port}`, token, method, url, body)
  if (res.status !== expect) throw new Error(`${method} ${url}: HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`)
  return res.body as T
}

/** Users, each owning its share of the printers, registered and logged in over HTTP. */
async function register(port: number, adminToken: string): Promise<ClientsConfig['users']> {
  const perUser = PRINTERS / USERS
  const users: ClientsConfig['users'] = []
  for (let u = 0; u < USERS; u++) {
    const account = `mqtt-bench-${u + 1}@example.com`
    const { uid } = await call<{ uid: number }>(port, 'POST', '/admin/v1/users', adminToken, { account, password: PASSWORD, name: `Bench ${u + 1}` }, 201)
    const login = await fetch(`http://127.0.0.1:${port}/v1/user-service/user/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ account, password: PASSWORD }),
    })
    const { accessToken } = (await login.json()) as { accessToken?: string }
    if (login.status !== 200 || !accessToken) throw new Error(`login of ${account} failed: HTTP ${login.status}`)
    const devIds = Array.from({ length: perUser }, (_, i) => fleetDevId(DEV_ID_PREFIX, u * perUser + i + 1))
    await registerFleet({ baseUrl: `http://127.0.0.1:${port}`, adminToken, owner: account, devIds, accessCode: ACCESS_CODE, model: 'C11' })
    users.push({ uid, accessToken, devIds })
  }
  return users
}

interface Window {
  result: ClientsResult
  /** CPU seconds per second over the window. */
  serverCpu: number
  otherCpu: number
}

/** Starts bench/mqtt-clients.ts pinned to `pin`; resolves with its result, the fleet still running. */
function runClients(pin: string[], config: ClientsConfig, serverPid: number): Promise<Window> {
  const args = [process.execPath, '--conditions=source', '--import', 'tsx', path.join(ROOT, 'bench/mqtt-clients.ts'), JSON.stringify(config)]
  const [cmd, ...rest] = [...pin, ...args] as [string, ...string[]]
  // stdin stays open: the clients stop when it closes, should this process die.
  const child = spawn(cmd, rest, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
  clients = child
  let at = { cpu: 0, busy: 0, t: 0 }
  let window: { cpu: number; busy: number; seconds: number } | undefined
  let buffered = ''
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the clients exited (${code}) before their result`)))
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        if (line === 'measure-start') {
          at = { cpu: cpuSeconds(serverPid), busy: machineBusySeconds(), t: performance.now() }
          log(`measuring for ${duration} s`)
        } else if (line === 'measure-end') {
          window = { cpu: cpuSeconds(serverPid) - at.cpu, busy: machineBusySeconds() - at.busy, seconds: (performance.now() - at.t) / 1000 }
        } else if (line.startsWith('result ') && window) {
          const result = JSON.parse(line.slice(7)) as ClientsResult
          const serverCpu = window.cpu / window.seconds
          const otherCpu = Math.max(0, window.busy / window.seconds - serverCpu - result.clientCpu)
          resolve({ result, serverCpu, otherCpu })
        }
      }
    })
  })
}

async function stopClients(): Promise<void> {
  const child = clients
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.stdin!.end()
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}

interface HttpCheck {
  account: number
  online: number
  statuses: string
  /** Printer, sequence it had published at the end of the window, sequence the server holds. */
  recorded: { devId: string; published: string; stored: string } | undefined
}

/** What HTTP shows a user once reports have flowed: its printers online, with a status. */
async function checkHttp(port: number, adminToken: string, user: ClientsConfig['users'][number], window: ClientsResult): Promise<HttpCheck> {
  const bind = await call<{ devices: { dev_id: string; online: boolean; print_status: string }[] }>(port, 'GET', '/v1/iot-service/api/user/bind', user.accessToken, undefined)
  const statuses = new Map<string, number>()
  for (const d of bind.devices) statuses.set(d.print_status, (statuses.get(d.print_status) ?? 0) + 1)
  const devId = user.devIds[0]!
  const published = window.lastSequence[devId]
  let recorded: HttpCheck['recorded']
  if (published !== undefined) {
    const device = await call<{ state: { print?: { sequence_id?: unknown } } }>(port, 'GET', `/admin/v1/devices/${devId}`, adminToken, undefined)
    recorded = { devId, published, stored: String(device.state.print?.sequence_id ?? 'none') }
  }
  return {
    account: bind.devices.length,
    online: bind.devices.filter((d) => d.online).length,
    statuses: [...statuses].map(([s, n]) => `${n} ${s}`).join(', ') || 'none',
    recorded,
  }
}

interface Report {
  database: string
  cpus: number
  pinning: string
  window: Window
  http: HttpCheck
  rss: { current: number; peak: number }
  serverOutput: string
}

function render(r: Report): string {
  const { result: c } = r.window
  let misses = 0
  const verdict = (missed: boolean, why: string) => (missed ? (misses++, `**MISS**: ${why}`) : 'pass')
  const perUser = PRINTERS / USERS
  const expectedRate = (PRINTERS * 1000) / REPORT_INTERVAL_MS
  const stored = r.http.recorded
  const storedOk = stored !== undefined && Number(stored.stored) >= Number(stored.published)
  const out = [
    `# bambu-cloud MQTT bench${quick ? ' (BENCH_QUICK: 100 printers, not the real targets)' : ''}`,
    '',
    `- Database: ${r.database}`,
    `- Node: ${process.version}; CPU: ${os.cpus()[0]?.model ?? 'unknown'} (${r.cpus} CPUs available)`,
    `- Pinning: ${r.pinning}`,
    `- Broker: ${plain ? 'plain MQTT' : 'MQTT over TLS'} (the server's own broker, ${plain ? 'MQTT_PORT' : 'MQTT_TLS_PORT'})`,
    `- Printers: ${int(PRINTERS)} virtual printers, one ${fullReports ? 'full (X1-style)' : 'partial (P1-style: what changed)'} report every ${REPORT_INTERVAL_MS} ms each, idle after a pushall`,
    `- Subscribers: ${USERS} users of ${perUser} printers each, one connection per user, ${wildcard ? 'device/+/report' : 'one device/<dev_id>/report subscription per printer'}`,
    `- Window: ${warmup} s warm-up, then ${c.seconds.toFixed(1)} s measured`,
    '',
    '| check | measured | target | result |',
    '| --- | --- | --- | --- |',
    `| report → subscriber p50 | ${c.p50.toFixed(2)} ms | | |`,
    `| report → subscriber p99 | ${c.p99.toFixed(2)} ms | < ${TARGETS.p99Ms} ms | ${verdict(c.p99 >= TARGETS.p99Ms, `${c.p99.toFixed(2)} ms`)} |`,
    `| report → subscriber max | ${c.max.toFixed(2)} ms | | |`,
    `| reports delivered | ${int(c.delivered / c.seconds)}/s (${int(c.delivered)} of ${int(c.published)} published; nominal ${int(expectedRate)}/s) | | |`,
    `| lost reports | ${int(c.lost)}${c.unsent ? `; ${int(c.unsent)} not sent (printer disconnected)` : ''} | 0 | ${verdict(c.lost + c.unsent > 0, `${c.lost + c.unsent} lost`)} |`,
    `| server CPU | ${(r.window.serverCpu * 100).toFixed(1)}% of one core | | |`,
    `| server RSS (VmRSS, peak VmHWM) | ${mb(r.rss.current)}, peak ${mb(r.rss.peak)} | < ${mb(TARGETS.rss)} | ${verdict(r.rss.peak >= TARGETS.rss, mb(r.rss.peak))} |`,
    `| HTTP user/bind (one user) | ${r.http.online} of ${r.http.account} online; print_status: ${r.http.statuses} | ${perUser} of ${perUser} online | ${verdict(r.http.online !== perUser || r.http.account !== perUser, 'not all online')} |`,
    `| report recorded (admin device state) | ${stored ? `${stored.devId}: sequence_id ${stored.stored}, ${stored.published} published at the end of the window` : 'no report seen'} | at least the last published | ${verdict(!storedOk, 'behind')} |`,
    '',
    `Client process (printers and subscribers, CPU 1): ${(c.clientCpu * 100).toFixed(1)}% of one core, event-loop delay p99 ${c.loopDelayP99.toFixed(1)} ms; ` +
      `rest of the machine ${(r.window.otherCpu * 100).toFixed(1)}% of one core. ` +
      `Disconnects: ${c.printerDisconnects} printer, ${c.subscriberDisconnects} subscriber; unexpected messages: ${c.unexpected}.`,
    '',
  ]
  if (r.serverOutput) out.push('Server output (warnings and errors):', '', '```', r.serverOutput.slice(-2000), '```', '')
  out.push(misses === 0 ? 'All targets met.' : `**${misses} target miss${misses === 1 ? '' : 'es'}** (marked above).`)
  return out.join('\n')
}

async function main(): Promise<void> {
  // Read before pinning: afterwards this process sees only its own CPU.
  const cpus = os.availableParallelism()
  const pin = pinning()
  log(pin.note)
  bench = await createBenchDatabase()
  const adminToken = randomBytes(24).toString('hex')
  const mqttPort = await freePort()
  const dataDir = path.join(bench.dataDir, 'server')
  const server = await startServer(pin.server, {
    DATABASE_URL: bench.url,
    DATA_DIR: dataDir,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'warn',
    ...(plain ? { MQTT_TLS_PORT: 'off', MQTT_PORT: String(mqttPort) } : { MQTT_TLS_PORT: String(mqttPort) }),
  })
  const memory = watchRss(server.pid)
  await waitForPort(mqttPort, server)
  const handle = openDatabase(bench.url, { poolSize: 1 })
  const database = await describeDatabase(handle).finally(() => handle.db.destroy())
  log(`database: ${database}; registering ${USERS} users and ${PRINTERS} printers`)
  const users = await register(server.port, adminToken)

  const window = await runClients(
    pin.load,
    {
      url: `${plain ? 'mqtt' : 'mqtts'}://127.0.0.1:${mqttPort}`,
      ca: plain ? null : fs.readFileSync(path.join(dataDir, 'mqtt.crt'), 'utf8'),
      printers: PRINTERS,
      devIdPrefix: DEV_ID_PREFIX,
      accessCode: ACCESS_CODE,
      reportIntervalMs: REPORT_INTERVAL_MS,
      partialReports: !fullReports,
      wildcard,
      users,
      warmup,
      duration,
    },
    server.pid,
  )
  const c = window.result
  log(`p50 ${c.p50.toFixed(2)} ms, p99 ${c.p99.toFixed(2)} ms, ${int(c.delivered / c.seconds)} reports/s, ${c.lost} lost; checking HTTP`)
  const http = await checkHttp(server.port, adminToken, users[0]!, c)
  const rss = { current: currentRss(server.pid), peak: Math.max(memory.stop(), peakRss(server.pid)) }
  await stopClients()
  await server.stop()
  process.stdout.write(
    `${render({
      database,
      cpus,
      pinning: `${pin.server.length ? 'server on CPU 0; printers, subscribers and this orchestrator on CPU 1 (taskset)' : pin.note}${bench.kind === 'postgres' ? "; PostgreSQL's own processes unpinned" : ''}`,
      window,
      http,
      rss,
      serverOutput: server.output().trim(),
    })}\n`,
  )
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
