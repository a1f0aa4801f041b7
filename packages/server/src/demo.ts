/**
 * `npm run demo`: the server (main.ts, as `npm start` runs it, with its data and log
 * under `./data/demo`), a demo account whose new password is printed once, and three virtual
 * printers bound to it that print a sample project over and over, the way the slicer
 * starts a cloud print: project upload, `my/task`, then `project_file` through the
 * broker. Sign in with the printed account in any client; stop with Ctrl-C.
 *
 *   DEMO_TIME_SCALE   simulated seconds per real second (default 20: a 30-minute print takes 90 s)
 *   PORT, MQTT_TLS_PORT, DATA_DIR, ...   as for the server (0 for any free port works)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { BambuCloud } from '@bambu-cloud/client'
import { plateGcodePath, projectFileRequest, requestTopic } from '@bambu-cloud/protocol'
import mqtt from 'mqtt'
import { randomDigits, randomToken } from './lib/secrets.ts'
import { fleetDevId, startFleet, type Fleet } from './simulator/fleet.ts'
import { adminRequest, registerFleet } from './simulator/registration.ts'
import { buildThreeMf } from './simulator/sample-3mf.ts'
import type { VirtualPrinter } from './simulator/virtual-printer.ts'

const ROOT = path.resolve(import.meta.dirname, '../../..')
const MAIN = path.join(ROOT, 'packages/server/src/main.ts')
const ACCOUNT = 'demo@bambu-cloud.local'
const PRINTERS = 3
const PAUSE_BETWEEN_PRINTS_MS = 15_000

const log = (line: string) => process.stderr.write(`demo: ${line}\n`)
const serverLog = (dataDir: string) => path.join(dataDir, 'server.log')

/**
 * Starts main.ts; resolves once both HTTP and the MQTT broker listen (their ports read
 * from its log, so 0 works too). The log goes to `logFile`, keeping the console for the
 * demo's own lines; it is at least `info`, which is where the listening lines are.
 */
function startServer(env: NodeJS.ProcessEnv, logFile: string): Promise<{ child: ChildProcess; baseUrl: string; mqttPort: number }> {
  const level = env.LOG_LEVEL && !['warn', 'error', 'fatal', 'silent'].includes(env.LOG_LEVEL) ? env.LOG_LEVEL : 'info'
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN], { cwd: ROOT, env: { ...env, LOG_LEVEL: level }, stdio: ['ignore', 'pipe', 'inherit'] })
  const log = fs.createWriteStream(logFile, { flags: 'a' })
  child.stdout!.pipe(log)
  return new Promise((resolve, reject) => {
    let seen = ''
    const watch = (chunk: Buffer) => {
      seen += chunk.toString()
      const http = /Server listening at (http:\/\/[^\s"]+)/.exec(seen)
      const mqtt = /"tlsPort":(\d+)[^\n]*MQTT broker listening/.exec(seen)
      if (http && mqtt) {
        child.stdout!.off('data', watch)
        resolve({ child, baseUrl: http[1]!, mqttPort: Number(mqtt[1]) })
      }
    }
    child.stdout!.on('data', watch)
    child.once('exit', (code) => reject(new Error(`the server exited with ${code} before listening; see ${logFile}`)))
  })
}

/** The demo account with a fresh password (created on the first run). */
async function demoAccount(baseUrl: string, token: string, password: string): Promise<void> {
  const created = await adminRequest(baseUrl, token, 'POST', '/admin/v1/users', { account: ACCOUNT, password, name: 'Demo' })
  if (created.status === 200 || created.status === 201) return
  if (created.status !== 409) throw new Error(`creating the demo account: HTTP ${created.status}`)
  const { users } = (await adminRequest(baseUrl, token, 'GET', '/admin/v1/users')).body as { users: { uid: number; account: string }[] }
  const uid = users.find((u) => u.account === ACCOUNT)!.uid
  const patched = await adminRequest(baseUrl, token, 'PATCH', `/admin/v1/users/${uid}`, { password, disabled: false })
  if (patched.status !== 200) throw new Error(`resetting the demo account: HTTP ${patched.status}`)
}

async function main(): Promise<void> {
  const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(ROOT, 'data', 'demo'))
  fs.mkdirSync(dataDir, { recursive: true })
  const adminToken = process.env.ADMIN_TOKEN ?? randomToken(32)
  const env = { ...process.env, DATA_DIR: dataDir, ADMIN_TOKEN: adminToken }
  const { child, baseUrl, mqttPort } = await startServer(env, serverLog(dataDir))
  let fleet: Fleet | undefined
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    void (fleet?.close() ?? Promise.resolve()).finally(() => child.kill('SIGTERM'))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  child.once('exit', (code) => process.exit(stopping ? 0 : (code ?? 1)))
  try {
    fleet = await run(baseUrl, adminToken, dataDir, mqttPort, () => stopping)
  } catch (err) {
    // The server must not outlive a demo that failed to start.
    log(err instanceof Error ? err.message : String(err))
    stopping = true
    await fleet?.close()
    child.kill('SIGTERM')
  }
}

async function run(baseUrl: string, adminToken: string, dataDir: string, mqttPort: number, stopped: () => boolean): Promise<Fleet> {

  const password = randomToken(9)
  await demoAccount(baseUrl, adminToken, password)
  const accessCode = randomDigits(8)
  const devIds = Array.from({ length: PRINTERS }, (_, i) => fleetDevId('DEMO', i + 1))
  await registerFleet({ baseUrl, adminToken, owner: ACCOUNT, devIds, accessCode, model: 'C12' })
  // The broker's own certificate (self-signed unless MQTT_CERT names one) is the one to trust.
  const ca = fs.readFileSync(process.env.MQTT_CERT || path.join(dataDir, 'mqtt.crt'), 'utf8')
  const mqttUrl = `mqtts://${new URL(baseUrl).hostname}:${mqttPort}`
  const fleet = await startFleet({
    count: PRINTERS,
    devIdPrefix: 'DEMO',
    accessCode,
    model: 'C12',
    timeScale: Number(process.env.DEMO_TIME_SCALE ?? 20),
    cloud: { url: mqttUrl, ca },
  })

  // The slicer's side: log in, upload the sample project, then start prints as it does.
  const cloud = new BambuCloud({ baseUrl, maxRetries: 2 })
  const login = await cloud.auth.login({ account: ACCOUNT, password })
  if (login.kind !== 'tokens') throw new Error('the demo account did not log in with its password')
  const file = buildThreeMf({
    printerModel: 'Bambu Lab P1S',
    printerModelId: 'C12',
    plates: [{ index: 1, prediction: 1800, weight: '12.60', gcode: ';demo\nG28\n', filaments: [{ id: '1', type: 'PLA', color: '#00AE42', used_m: '4.16', used_g: '12.60' }] }],
  })
  const project = await cloud.projects.upload(file, { name: 'Demo cube', fileName: 'Demo cube.3mf', pollIntervalMs: 200 })
  const { uid } = await cloud.user.preference()
  const slicer = await mqtt.connectAsync(mqttUrl, { username: `u_${uid}`, password: cloud.accessToken, ca, reconnectPeriod: 2000 })

  const print = async (printer: VirtualPrinter) => {
    if (stopped()) return
    const task = await cloud.user.createTask({
      deviceId: printer.devId,
      modelId: project.model_id,
      profileId: Number(project.profile_id),
      plateIndex: 1,
      title: 'Demo cube',
      mode: 'cloud_file',
    } as never)
    const request = projectFileRequest({
      param: plateGcodePath(1),
      url: project.project.download_url!,
      md5: project.project.download_md5 ?? '',
      project_id: project.project_id,
      profile_id: project.profile_id,
      task_id: String(task.id),
      subtask_id: String(task.id),
      subtask_name: 'Demo cube',
    })
    await slicer.publishAsync(requestTopic(printer.devId), JSON.stringify(request), { qos: 1 })
  }
  for (const printer of fleet.printers) {
    const again = () => setTimeout(() => void print(printer).catch((err) => log(`could not start a print on ${printer.devId}: ${err}`)), PAUSE_BETWEEN_PRINTS_MS)
    printer.on('finished', again)
    printer.on('failed', again)
    await print(printer)
  }

  process.stdout.write(
    [
      '',
      `bambu-cloud demo at ${baseUrl} (MQTT ${mqttUrl}; the server's log is in ${serverLog(dataDir)})`,
      '',
      `  account:  ${ACCOUNT}`,
      `  password: ${password}      (new on every start; shown only here)`,
      `  printers: ${devIds.join(', ')} (virtual, printing "Demo cube" over and over)`,
      '',
      `  bambu-cloud login --base-url ${baseUrl} --account ${ACCOUNT}`,
      '  bambu-cloud status --watch',
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  )
  return fleet
}

main().catch((err) => {
  log(err instanceof Error ? err.message : String(err))
  process.exit(1)
})
