/**
 * A bridged printer for one test: a virtual printer serving LAN mode on ephemeral ports,
 * an app listening over HTTP with its cloud broker and LAN bridge (short retry delays), an
 * owner, and the printer bridged through the admin API. Also the slicer's upload sequence,
 * for prints made from a project.
 */
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import type { TestContext } from 'node:test'
import { startLanBridge, type LanBridge } from '../../src/bridge/lan-bridge.ts'
import { generateSelfSignedCertificate, type Certificate } from '../../src/lib/certificate.ts'
import type { MqttBroker } from '../../src/mqtt/broker.ts'
import { VirtualPrinter, type LanEndpoints, type LanOptions, type VirtualPrinterOptions } from '../../src/simulator/virtual-printer.ts'
import { addDevice } from './app.ts'
import { eventually, startBroker } from './mqtt.ts'
import { md5, pollUntilDone, putFile, startHttpApp, type HttpApp } from './uploads.ts'

export const DEV_ID = '01P00A000000001'
export const ACCESS_CODE = '24681357'
/** Generous: nothing here should take long, but a loaded machine may be slow. */
export const WAIT_MS = 10_000
const FAST = { retryMinMs: 50, retryMaxMs: 400, connectTimeoutMs: 5000, ftpsTimeoutMs: 5000 }

let certificate: Promise<Certificate> | undefined
/** One key pair per test file: generating RSA keys is the slowest thing here. */
export function printerCertificate(): Promise<Certificate> {
  certificate ??= generateSelfSignedCertificate(DEV_ID)
  return certificate
}

export function fingerprintOf(cert: Certificate): string {
  return new X509Certificate(cert.cert).fingerprint256
}

/** A virtual printer in LAN mode (a 10-minute print takes a fraction of a second), closed after the test. */
export async function startPrinter(t: TestContext, options: Partial<VirtualPrinterOptions> = {}, lan: LanOptions = {}) {
  const printer = new VirtualPrinter({ devId: DEV_ID, accessCode: ACCESS_CODE, timeScale: 3000, reportIntervalMs: 50, prepareSeconds: 30, ...options })
  t.after(() => printer.close())
  const endpoints = await printer.serveLan({ certificate: await printerCertificate(), ...lan })
  return { printer, lan: endpoints }
}

export interface Bridged {
  s: HttpApp
  broker: MqttBroker
  bridge: LanBridge
  printer: VirtualPrinter
  lan: LanEndpoints
  owner: { uid: number; token: string }
  /** The owner's HTTP calls. */
  call: ReturnType<HttpApp['as']>
}

/** Everything up and the bridge connected to the printer. */
export async function startBridged(t: TestContext, printerOptions: Partial<VirtualPrinterOptions> = {}): Promise<Bridged> {
  const s = await startHttpApp(t)
  const broker = await startBroker(s)
  const bridge = await startLanBridge({ services: s.app.services, broker, log: s.app.log, timings: FAST })
  s.app.bridge = bridge
  const user = await s.createUser('owner@example.com')
  const { accessToken } = await s.login('owner@example.com')
  await addDevice(s, 'owner@example.com', DEV_ID, { dev_access_code: ACCESS_CODE, dev_model_name: 'C11', dev_product_name: 'P1P' })
  const { printer, lan } = await startPrinter(t, printerOptions)
  await bridgeTo(s, lan)
  await waitForBridge(s, (b) => b.state === 'connected')
  return { s, broker, bridge, printer, lan, owner: { uid: user.uid, token: accessToken }, call: s.as(accessToken) }
}

/** `PATCH /admin/v1/devices/{dev_id}` with the printer's address; returns the admin record. */
export async function bridgeTo(s: HttpApp, ports: { mqttPort: number; ftpsPort: number }, lanIp: string | null = '127.0.0.1') {
  const res = await s.admin({ method: 'PATCH', url: `/admin/v1/devices/${DEV_ID}`, payload: { lan_ip: lanIp, lan_mqtt_port: ports.mqttPort, lan_ftps_port: ports.ftpsPort } })
  assert.equal(res.statusCode, 200, res.body)
  return res.json()
}

export async function adminDevice(s: HttpApp) {
  const res = await s.admin({ method: 'GET', url: `/admin/v1/devices/${DEV_ID}` })
  assert.equal(res.statusCode, 200, res.body)
  return res.json()
}

export interface BridgeView {
  state: string
  since: string | null
  last_error: string | null
  reconnects: number
  last_report_at: string | null
}

/** Polls the admin API until the bridge's state satisfies `match`; returns the admin record. */
export function waitForBridge(s: HttpApp, match: (bridge: BridgeView) => boolean) {
  return eventually(async () => {
    const device = await adminDevice(s)
    return device.bridge !== null && match(device.bridge) && device
  }, WAIT_MS)
}

/** The owner's printer as `user/bind` shows it. */
export async function boundDevice(b: Bridged) {
  const res = await b.call('GET', '/v1/iot-service/api/user/bind')
  assert.equal(res.status, 200)
  return res.body.devices.find((d: { dev_id: string }) => d.dev_id === DEV_ID)
}

/** The owner's printer as `user/print` shows it. */
export async function livePrint(b: Bridged) {
  const res = await b.call('GET', '/v1/iot-service/api/user/print')
  assert.equal(res.status, 200)
  return res.body.devices.find((d: { dev_id: string }) => d.dev_id === DEV_ID)
}

/** The owner's tasks, newest first. */
export async function tasks(b: Bridged) {
  const res = await b.call('GET', '/v1/user-service/my/tasks')
  assert.equal(res.status, 200)
  return res.body.hits as any[]
}

export async function messages(b: Bridged) {
  const res = await b.call('GET', '/v1/user-service/my/messages')
  assert.equal(res.status, 200)
  return res.body.hits as any[]
}

/**
 * The slicer's upload sequence: the project with its 3MF (processed), and, when given,
 * a print-ready file for one plate attached by `PATCH`.
 */
export async function uploadProject(b: Bridged, file: Buffer, print?: { plate: number; file: Buffer }) {
  const created = await b.call('POST', '/v1/iot-service/api/user/project', { name: 'Bracket.3mf' })
  assert.equal(created.status, 200, JSON.stringify(created.body))
  const { project_id, model_id, profile_id, upload_url, upload_ticket } = created.body
  assert.equal((await putFile(upload_url, file)).status, 200)
  const notified = await b.call('PUT', '/v1/iot-service/api/user/notification', { upload: { origin_file_name: 'Bracket.3mf', ticket: upload_ticket } })
  assert.equal(notified.status, 200)
  assert.equal((await pollUntilDone(b.call, upload_ticket)).status, 200)
  if (print) {
    const name = `${model_id}_${profile_id}_${print.plate}.3mf`
    const urls = await b.call('GET', `/v1/iot-service/api/user/upload?models=${name}`)
    const url: string = urls.body.urls[0].url
    assert.equal((await putFile(url, print.file)).status, 200)
    const patched = await b.call('PATCH', `/v1/iot-service/api/user/project/${project_id}`, {
      profile_id,
      profile_print_3mf: [{ md5: md5(print.file), plate_idx: print.plate, url }],
    })
    assert.equal(patched.status, 200, JSON.stringify(patched.body))
  }
  return { projectId: String(project_id), modelId: String(model_id), profileId: String(profile_id) }
}

/** `POST my/task` for a plate of a project, as Studio sends it; returns the task id. */
export async function createTask(b: Bridged, project: { modelId: string; profileId: string }, plateIndex: number, title = 'Bracket') {
  const res = await b.call('POST', '/v1/user-service/my/task', {
    deviceId: DEV_ID,
    modelId: project.modelId,
    profileId: Number(project.profileId),
    plateIndex,
    title,
    cover: '',
    mode: 'cloud_file',
  })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body.id as number
}
