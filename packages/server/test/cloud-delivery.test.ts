/**
 * Prints that reach printers connected to the cloud broker, over real HTTP and MQTT with a
 * virtual printer: a task created over HTTP alone is sent to the printer by the server; an
 * owner's own `project_file` makes it one job, not two; an offline printer gets its job on
 * connect, or the task fails; the slicer's placeholder PATCH; an owner's `project_file`
 * naming an upload URL with a zero md5 is fixed on its way.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { plateGcodePath, projectFileRequest, pushallRequest, reportTopic, requestTopic } from '@bambu-cloud/protocol'
import { addDevice } from './helpers/app.ts'
import { connect, eventually, startBroker } from './helpers/mqtt.ts'
import { buildThreeMf } from './helpers/three-mf.ts'
import { md5, pollUntilDone, putFile, startHttpApp, type HttpApp } from './helpers/uploads.ts'
import type { MqttBroker } from '../src/mqtt/broker.ts'
import type { DeliveryTimings } from '../src/mqtt/print-delivery.ts'
import { VirtualPrinter } from '../src/simulator/virtual-printer.ts'

const DEV = '01S00A000000077'
const CODE = '24681357'
const ZERO_MD5 = '0'.repeat(32)

/** A one-plate project of a 20-minute plate (3 seconds at the printer's time scale). */
const projectFile = (gcode = 'G28\n') =>
  buildThreeMf({ plates: [{ index: 1, prediction: 1200, weight: '9.80', gcode, filaments: [{ id: '1', type: 'PLA', color: '#00AE42', used_m: '3.2', used_g: '9.80' }] }] })

interface Setup {
  s: HttpApp
  broker: MqttBroker
  uid: number
  accessToken: string
  ada: ReturnType<HttpApp['as']>
  printer: VirtualPrinter
  connectPrinter(): Promise<void>
  /** The project as uploaded, its ids as strings. */
  upload(file: Buffer): Promise<{ project_id: string; model_id: string; profile_id: string; download_url: string }>
  createTask(project: { model_id: string; profile_id: string }, extra?: Record<string, unknown>): Promise<number>
  taskOf(id: number): Promise<any>
}

/** The `project_file` an owner's client publishes itself for task `id`, as Bambu Studio does. */
function ownerProjectFile(project: { project_id: string; profile_id: string }, id: number, url: string, md5: string) {
  return projectFileRequest({
    param: plateGcodePath(1),
    url,
    md5,
    project_id: project.project_id,
    profile_id: project.profile_id,
    task_id: String(id),
    subtask_id: String(id),
    subtask_name: 'Cube',
  })
}

async function setup(t: TestContext, delivery: DeliveryTimings): Promise<Setup> {
  const s = await startHttpApp(t)
  const broker = await startBroker(s, { flushEvery: 50, delivery })
  const { uid } = await s.createUser('ada@example.com')
  const { accessToken } = await s.login('ada@example.com')
  const ada = s.as(accessToken)
  await addDevice(s, 'ada@example.com', DEV, { dev_access_code: CODE, dev_model_name: 'C12', dev_product_name: 'P1S' })
  const printer = new VirtualPrinter({ devId: DEV, accessCode: CODE, model: 'C12', timeScale: 400, reportIntervalMs: 50 })
  t.after(() => printer.close())
  return {
    s,
    broker,
    uid,
    accessToken,
    ada,
    printer,
    connectPrinter: () => printer.connectToCloud({ url: `mqtts://127.0.0.1:${broker.tlsPort}`, ca: broker.certificate! }),
    async upload(file) {
      const created = (await ada('POST', '/v1/iot-service/api/user/project', { name: 'Cube' })).body
      assert.equal((await putFile(created.upload_url, file)).status, 200)
      await ada('PUT', '/v1/iot-service/api/user/notification', { upload: { origin_file_name: 'Cube.3mf', ticket: created.upload_ticket } })
      assert.equal((await pollUntilDone(ada, created.upload_ticket)).body.message, 'success')
      const project = (await ada('GET', `/v1/iot-service/api/user/project/${created.project_id}`)).body
      return { project_id: created.project_id, model_id: created.model_id, profile_id: created.profile_id, download_url: project.download_url }
    },
    async createTask(project, extra = {}) {
      const res = await ada('POST', '/v1/user-service/my/task', { deviceId: DEV, modelId: project.model_id, profileId: Number(project.profile_id), plateIndex: 1, title: 'Cube', mode: 'cloud_file', ...extra })
      assert.equal(res.status, 200, JSON.stringify(res.body))
      return res.body.id as number
    },
    taskOf: async (id) => (await ada('GET', `/v1/user-service/my/task/${id}`)).body,
  }
}

const finished = (x: Setup, id: number) => eventually(async () => (await x.taskOf(id)).status === 2, 15_000)

test('a task created over HTTP alone reaches the printer on the broker and prints to FINISH', async (t) => {
  const x = await setup(t, { graceMs: 100, timeoutMs: 60_000 })
  await x.connectPrinter()
  const file = projectFile()
  const project = await x.upload(file)
  const id = await x.createTask(project, { amsDetailMapping: [{ ams: 2, sourceColor: '00AE42FF', targetColor: '00AE42FF', filamentId: 'GFA00', filamentType: 'PLA', targetFilamentType: '', weight: 9.8 }] })

  await finished(x, id)
  assert.equal(x.printer.projectFiles.length, 1)
  assert.deepEqual(x.printer.projectFiles[0], {
    sequence_id: String(id),
    command: 'project_file',
    file: '',
    param: 'Metadata/plate_1.gcode',
    url: project.download_url,
    md5: md5(file),
    project_id: project.project_id,
    profile_id: project.profile_id,
    task_id: String(id),
    subtask_id: String(id),
    subtask_name: 'Cube',
    timelapse: false,
    bed_leveling: true,
    bed_levelling: true,
    flow_cali: true,
    vibration_cali: true,
    layer_inspect: true,
    use_ams: true,
    ams_mapping: [2],
    // The task's bedType: the plate's, from the 3MF.
    bed_type: 'textured_plate',
  })
  const message = await eventually(async () => (await x.ada('GET', '/v1/user-service/my/messages?type=6')).body.hits.find((h: any) => h.taskMessage?.id === id))
  assert.equal(message.taskMessage.status, 2)
})

test('an owner publishing project_file itself gets exactly one job on the printer; a repeat is withheld', async (t) => {
  const x = await setup(t, { graceMs: 1500, timeoutMs: 60_000 })
  await x.connectPrinter()
  const client = await connect(x.broker, `u_${x.uid}`, x.accessToken)
  t.after(() => client.end())
  await client.client.subscribeAsync(reportTopic(DEV))
  const file = projectFile()
  const project = await x.upload(file)
  const createdAt = Date.now()
  const id = await x.createTask(project)
  const request = ownerProjectFile(project, id, project.download_url, md5(file))
  await client.client.publishAsync(requestTopic(DEV), JSON.stringify(request), { qos: 1 })
  await finished(x, id)
  // Past the grace period the server has not sent a second one...
  await new Promise((r) => setTimeout(r, Math.max(0, createdAt + 2000 - Date.now())))
  // ...and the owner's repeat does not reach the printer: a pushall sent after it is answered first.
  await client.client.publishAsync(requestTopic(DEV), JSON.stringify(request), { qos: 1 })
  await client.client.publishAsync(requestTopic(DEV), JSON.stringify(pushallRequest('4242')), { qos: 1 })
  await client.receive((m) => JSON.parse(m.text).print?.sequence_id === '4242')
  assert.equal(x.printer.projectFiles.length, 1)
  assert.equal(x.printer.projectFiles[0]!.task_id, String(id))
})

test('an offline printer gets its job when it connects', async (t) => {
  const x = await setup(t, { graceMs: 50, timeoutMs: 60_000 })
  const project = await x.upload(projectFile())
  const id = await x.createTask(project)
  await new Promise((r) => setTimeout(r, 300))
  assert.equal((await x.taskOf(id)).status, 0)
  await x.connectPrinter()
  await finished(x, id)
  assert.equal(x.printer.projectFiles.length, 1)
})

test('a printer that never connects fails the task with a reason and a type-6 message', async (t) => {
  const x = await setup(t, { graceMs: 50, timeoutMs: 300 })
  const project = await x.upload(projectFile())
  const id = await x.createTask(project)
  const failed = await eventually(async () => {
    const task = await x.taskOf(id)
    return task.status === 3 ? task : undefined
  })
  assert.equal(failed.failedReason, 'The printer did not connect within PRINT_DELIVERY_TIMEOUT to take the print')
  const message = await eventually(async () => (await x.ada('GET', '/v1/user-service/my/messages?type=6')).body.hits.find((h: any) => h.taskMessage?.id === id))
  assert.deepEqual([message.taskMessage.status, message.taskMessage.failedReason], [3, failed.failedReason])
  // A printer connecting later gets nothing.
  await x.connectPrinter()
  await eventually(async () => (await x.ada('GET', '/v1/iot-service/api/user/bind')).body.devices[0].online === true)
  assert.equal(x.printer.projectFiles.length, 0)
})

test('the slicer’s placeholder PATCH, then the real one: the task prints the print-ready file', async (t) => {
  const x = await setup(t, { graceMs: 100, timeoutMs: 60_000 })
  await x.connectPrinter()
  const project = await x.upload(projectFile())
  const name = `${project.model_id}_${project.profile_id}_1.3mf`
  const patch = (url: string, md5sum: string) =>
    x.ada('PATCH', `/v1/iot-service/api/user/project/${project.project_id}`, { profile_id: project.profile_id, profile_print_3mf: [{ md5: md5sum, plate_idx: 1, url }] })

  const placeholder = await patch(`ftp://${name}`, ZERO_MD5)
  assert.deepEqual([placeholder.status, placeholder.body], [200, { message: 'success', code: null, error: null }])
  const printFile = projectFile('G28\nG1 X5\n')
  const url = (await x.ada('GET', `/v1/iot-service/api/user/upload?models=${name}`)).body.urls[0].url
  assert.equal((await putFile(url, printFile)).status, 200)
  assert.equal((await patch(url, md5(printFile))).status, 200)

  const id = await x.createTask(project)
  await finished(x, id)
  assert.equal(x.printer.projectFiles.length, 1)
  assert.equal(x.printer.projectFiles[0]!.md5, md5(printFile))
  assert.notEqual(x.printer.projectFiles[0]!.url, project.download_url)
})

test('an owner’s project_file naming an upload URL with a zero md5 reaches the printer with the download URL and the real md5', async (t) => {
  const x = await setup(t, { graceMs: 60_000, timeoutMs: 60_000 })
  await x.connectPrinter()
  const client = await connect(x.broker, `u_${x.uid}`, x.accessToken)
  t.after(() => client.end())
  const project = await x.upload(projectFile())
  const name = `${project.model_id}_${project.profile_id}_1.3mf`
  const printFile = projectFile('G28\nG1 X7\n')
  const uploadUrl: string = (await x.ada('GET', `/v1/iot-service/api/user/upload?models=${name}`)).body.urls[0].url
  assert.equal((await putFile(uploadUrl, printFile)).status, 200)
  const id = await x.createTask(project)
  const request = ownerProjectFile(project, id, uploadUrl, ZERO_MD5)
  await client.client.publishAsync(requestTopic(DEV), JSON.stringify(request), { qos: 1 })
  await finished(x, id)
  const received = x.printer.projectFiles[0]!
  assert.equal(x.printer.projectFiles.length, 1)
  assert.equal(received.md5, md5(printFile))
  const downloadUrl = new URL(String(received.url))
  assert.equal(downloadUrl.pathname, new URL(uploadUrl).pathname)
  assert.match(downloadUrl.search, /^\?sig=[\w-]{43}$/)
  const fetched = await fetch(downloadUrl)
  assert.ok(Buffer.from(await fetched.arrayBuffer()).equals(printFile))
})
