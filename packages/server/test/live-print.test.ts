/**
 * End to end in one process: the slicer's upload and task over HTTP, `project_file` through
 * the cloud broker from a client logged in as `u_<uid>`, and a virtual printer connected as
 * a device that downloads the file and prints it. `user/print`, `user/bind`, `my/tasks` and
 * `my/messages` follow the printer, the client receives its reports, and a stop sent by
 * the client ends the next print.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { plateGcodePath, printControlRequest, projectFileRequest, reportTopic, requestTopic } from '@bambu-cloud/protocol'
import { addDevice } from './helpers/app.ts'
import { connect, eventually, startBroker } from './helpers/mqtt.ts'
import { buildThreeMf } from './helpers/three-mf.ts'
import { md5, pollUntilDone, putFile, startHttpApp } from './helpers/uploads.ts'
import { VirtualPrinter } from '../src/simulator/virtual-printer.ts'

const DEV = '01S00A000000042'
const CODE = '87654321'

test('a virtual printer prints a cloud task; HTTP and the owner’s MQTT client follow it; the client’s stop ends a print', async (t) => {
  const s = await startHttpApp(t)
  const broker = await startBroker(s, { flushEvery: 50 })
  const { uid } = await s.createUser('ada@example.com')
  const { accessToken } = await s.login('ada@example.com')
  const ada = s.as(accessToken)
  await addDevice(s, 'ada@example.com', DEV, { dev_access_code: CODE, dev_model_name: 'C12', dev_product_name: 'P1S' })

  const printer = new VirtualPrinter({ devId: DEV, accessCode: CODE, model: 'C12', timeScale: 400, reportIntervalMs: 50 })
  t.after(() => printer.close())
  await printer.connectToCloud({ url: `mqtts://127.0.0.1:${broker.tlsPort}`, ca: broker.certificate! })
  const client = await connect(broker, `u_${uid}`, accessToken)
  await client.client.subscribeAsync(reportTopic(DEV))
  t.after(() => client.end())

  // Online as soon as it connected.
  await eventually(async () => (await ada('GET', '/v1/iot-service/api/user/bind')).body.devices[0].online === true)

  // The slicer's side: the project (a 20-minute plate), the task, then project_file through the broker.
  const file = buildThreeMf({ plates: [{ index: 1, prediction: 1200, weight: '9.80', gcode: 'G28\n', filaments: [{ id: '1', type: 'PLA', color: '#00AE42', used_m: '3.2', used_g: '9.80' }] }] })
  const created = (await ada('POST', '/v1/iot-service/api/user/project', { name: 'Cube' })).body
  assert.equal((await putFile(created.upload_url, file)).status, 200)
  await ada('PUT', '/v1/iot-service/api/user/notification', { upload: { origin_file_name: 'Cube.3mf', ticket: created.upload_ticket } })
  assert.equal((await pollUntilDone(ada, created.upload_ticket)).body.message, 'success')
  const project = (await ada('GET', `/v1/iot-service/api/user/project/${created.project_id}`)).body
  const startPrint = async () => {
    const task = (await ada('POST', '/v1/user-service/my/task', { deviceId: DEV, modelId: created.model_id, profileId: Number(created.profile_id), plateIndex: 1, title: 'Cube', mode: 'cloud_file' })).body
    const request = projectFileRequest({
      param: plateGcodePath(1),
      url: project.download_url,
      md5: md5(file),
      project_id: created.project_id,
      profile_id: created.profile_id,
      task_id: String(task.id),
      subtask_id: String(task.id),
      subtask_name: 'Cube',
    })
    await client.client.publishAsync(requestTopic(DEV), JSON.stringify(request), { qos: 1 })
    return task.id as number
  }
  const taskOf = async (id: number) => (await ada('GET', '/v1/user-service/my/tasks?limit=20')).body.hits.find((h: { id: number }) => h.id === id)

  const first = await startPrint()
  // Running: user/print and user/bind show it, the task is running (4), the client gets the reports.
  const running = await eventually(async () => {
    const [p] = (await ada('GET', '/v1/iot-service/api/user/print?force=true')).body.devices
    return p.task_status === 'RUNNING' && p.progress > 0 ? p : undefined
  }, 10_000)
  assert.equal(running.task_id, String(first))
  assert.equal(running.task_name, 'Cube')
  assert.equal((await ada('GET', '/v1/iot-service/api/user/bind')).body.devices[0].print_status, 'RUNNING')
  assert.equal((await taskOf(first)).status, 4)
  await client.receive((m) => JSON.parse(m.text).print?.gcode_state === 'RUNNING')

  // Finished: the task is 2 with its end time, and a type-6 message says so.
  await eventually(async () => (await taskOf(first)).status === 2, 15_000)
  assert.equal((await ada('GET', '/v1/iot-service/api/user/print?force=true')).body.devices[0].task_status, 'SUCCESS')
  const finished = await eventually(async () => (await ada('GET', '/v1/user-service/my/messages?type=6')).body.hits.find((h: { taskMessage?: { id: number } }) => h.taskMessage?.id === first))
  assert.ok(finished)
  await client.receive((m) => JSON.parse(m.text).print?.gcode_state === 'FINISH')

  // The next print, stopped by the client: FAILED on the printer, failed (3) in the history.
  const second = await startPrint()
  await eventually(async () => (await taskOf(second))?.status === 4, 10_000)
  await client.client.publishAsync(requestTopic(DEV), JSON.stringify(printControlRequest('stop', '77')), { qos: 1 })
  await client.receive((m) => {
    const print = JSON.parse(m.text).print
    return print?.command === 'stop' && print.sequence_id === '77' && print.result === 'success'
  })
  await eventually(async () => (await taskOf(second)).status === 3, 10_000)
  assert.equal(printer.state.gcode_state, 'FAILED')
  assert.equal((await ada('GET', '/v1/iot-service/api/user/bind')).body.devices[0].print_status, 'FAILED')
})
