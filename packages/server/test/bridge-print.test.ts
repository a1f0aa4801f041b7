/**
 * Prints on a bridged printer from a project, as Bambu Studio makes them: upload, task, and
 * the server sends the plate's 3MF to the printer over FTPS and starts it. The task follows
 * the print to its end; a printer that refuses the job, a file that cannot be sent, or no
 * file at all fail the task with the reason, and the owner gets the message.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { reportTopic, requestTopic, type DeviceMessage } from '@bambu-cloud/protocol'
import { connect, eventually } from './helpers/mqtt.ts'
import { buildThreeMf, TWO_PLATES } from './helpers/three-mf.ts'
import { freePort } from './helpers/ports.ts'
import { md5 } from './helpers/uploads.ts'
import { bridgeTo, createTask, DEV_ID, livePrint, messages, startBridged, tasks, uploadProject, waitForBridge, WAIT_MS, type Bridged } from './helpers/bridge.ts'

const FIXTURE = { plates: TWO_PLATES, printerModel: 'Bambu Lab P1P', printerModelId: 'C11' }
const PROJECT = buildThreeMf({ ...FIXTURE, plates: TWO_PLATES.map((p) => ({ ...p, gcode: `;plate ${p.index}\nG28\n` })) })
/** Studio's print-ready file for plate 2 (predicted 5025 s): what the printer must get. */
const PLATE_2 = buildThreeMf({ ...FIXTURE, plates: [{ ...TWO_PLATES[1]!, gcode: ';plate 2\nG28\nG1 X10 Y10\n'.repeat(50) }] })

/** Every `print` message the printer sends, as it sends it. */
function printerMessages(b: Bridged): DeviceMessage[] {
  const seen: DeviceMessage[] = []
  b.printer.on('report', (m) => seen.push(structuredClone(m)))
  return seen
}

async function ended(b: Bridged, taskId: number) {
  return eventually(async () => (await tasks(b)).find((h) => h.id === taskId && h.status !== 0 && h.status !== 4), WAIT_MS)
}

test('a task for a plate of a project is sent to the printer over FTPS, printed, paused by its owner, and finished', async (t) => {
  // About two seconds of printing: long enough to watch it run and pause it.
  const b = await startBridged(t, { timeScale: 2500 })
  const seen = printerMessages(b)
  const project = await uploadProject(b, PROJECT, { plate: 2, file: PLATE_2 })
  const taskId = await createTask(b, project, 2, 'Bracket v2')

  const running = await eventually(async () => {
    const live = await livePrint(b)
    return live.task_status === 'RUNNING' && live.task_id === String(taskId) && live
  }, WAIT_MS)
  assert.equal(running.task_name, 'Bracket v2')
  assert.equal(running.project_id, project.projectId)
  assert.equal(running.profile_id, project.profileId)

  // The printer got the plate's print-ready file, under a name of its own, and accepted it.
  const ack = seen.find((m) => m.print?.command === 'project_file')!.print!
  assert.deepEqual(
    { param: ack.param, url: ack.url, md5: ack.md5, task_id: ack.task_id, subtask_id: ack.subtask_id, project_id: ack.project_id, profile_id: ack.profile_id, subtask_name: ack.subtask_name, result: ack.result },
    {
      param: 'Metadata/plate_2.gcode',
      url: `ftp:///Bracket_v2_${taskId}.3mf`,
      md5: md5(PLATE_2),
      task_id: String(taskId),
      subtask_id: String(taskId),
      project_id: project.projectId,
      profile_id: project.profileId,
      subtask_name: 'Bracket v2',
      result: 'success',
    },
  )
  assert.equal(b.printer.state.gcode_file, `Bracket_v2_${taskId}.3mf`)
  const prepare = seen.find((m) => m.print?.gcode_state === 'PREPARE')!.print!
  assert.equal(prepare.mc_remaining_time, Math.ceil(5025 / 60), 'the printer read the plate’s prediction from the file it got')

  // Studio sends its own project_file for the task too; the printer must not get it.
  const user = await connect(b.broker, `u_${b.owner.uid}`, b.owner.token)
  await user.client.subscribeAsync(reportTopic(DEV_ID))
  const publish = (message: object) => user.client.publishAsync(requestTopic(DEV_ID), JSON.stringify(message))
  await publish({ print: { sequence_id: '77', command: 'project_file', param: 'Metadata/plate_2.gcode', url: 'https://example.invalid/x.3mf', task_id: String(taskId) } })
  // The owner pauses the print through the cloud broker; requests pass in order, so the duplicate would have come first.
  await publish({ print: { sequence_id: '78', command: 'pause', param: '' } })
  await user.receive((m) => m.text.includes('"sequence_id":"78"'))
  // Its own reports count sequence ids up too: only a project_file answer would be the duplicate's.
  assert.equal(seen.filter((m) => m.print?.command === 'project_file' && m.print.sequence_id === '77').length, 0, 'the duplicate project_file was not passed on')
  await eventually(async () => (await livePrint(b)).task_status === 'PAUSE', WAIT_MS)
  await publish({ print: { sequence_id: '79', command: 'resume', param: '' } })

  const task = await ended(b, taskId)
  assert.equal(task.status, 2)
  assert.equal(task.deviceId, DEV_ID)
  assert.equal(task.plateIndex, 2)
  assert.equal(task.failedReason, undefined)
  assert.equal(b.printer.state.gcode_state, 'FINISH')
  const [message] = await messages(b)
  assert.deepEqual(message.taskMessage, { id: taskId, title: 'Bracket v2', cover: task.cover, status: 2, deviceId: DEV_ID })
  assert.equal(message.type, 6)
})

test('a printer that refuses the job fails the task with its reason, and the owner is told', async (t) => {
  const b = await startBridged(t)
  b.printer.refuseProjectFile = true
  // No print-ready file: the project's own 3MF is sent.
  const project = await uploadProject(b, PROJECT)
  const taskId = await createTask(b, project, 1)

  const task = await ended(b, taskId)
  assert.equal(task.status, 3)
  assert.equal(task.failedReason, 'Refused by the printer: third-party print jobs need LAN-only mode with Developer Mode on')
  const [message] = await messages(b)
  assert.equal(message.type, 6)
  assert.deepEqual(
    { id: message.taskMessage.id, status: message.taskMessage.status, failedReason: message.taskMessage.failedReason },
    { id: taskId, status: 3, failedReason: task.failedReason },
  )
  assert.equal(b.printer.state.gcode_state, 'IDLE')
  // The refusal is an answer, not the printer's state: the state keeps no trace of it.
  const state = JSON.parse((await b.s.app.services.devices.get(DEV_ID))!.state)
  assert.equal(state.print.result, undefined)
  assert.notEqual(state.print.task_id, String(taskId))
})

test('a printer whose FTPS port does not answer fails the task with the reason', async (t) => {
  const b = await startBridged(t)
  const closedPort = await freePort()
  await bridgeTo(b.s, { mqttPort: b.lan.mqttPort, ftpsPort: closedPort })
  await waitForBridge(b.s, (bridge) => bridge.state === 'connected')
  const project = await uploadProject(b, PROJECT)
  const taskId = await createTask(b, project, 1)

  const task = await ended(b, taskId)
  assert.equal(task.status, 3)
  assert.match(task.failedReason, /^Could not send the file to the printer: FTPS upload failed: .*ECONNREFUSED/)
  const [message] = await messages(b)
  assert.equal(message.taskMessage.failedReason, task.failedReason)
  assert.equal(b.printer.state.gcode_state, 'IDLE')
})

test('a task for a plate with no stored 3MF fails; a task that names no plate is left to the client', async (t) => {
  const b = await startBridged(t)
  // Bambu Connect or a LAN client: no project plate, so nothing for the server to send.
  const plain = await b.call('POST', '/v1/user-service/my/task', { deviceId: DEV_ID, title: 'From the SD card' })
  assert.equal(plain.status, 200)
  // A project whose file never arrived.
  const created = await b.call('POST', '/v1/iot-service/api/user/project', { name: 'Empty.3mf' })
  const taskId = await createTask(b, { modelId: created.body.model_id, profileId: created.body.profile_id }, 1)
  const task = await ended(b, taskId)
  assert.equal(task.status, 3)
  assert.equal(task.failedReason, 'No 3MF is stored for plate 1 of this project')

  // An ended task keeps its end and its reason.
  await b.s.app.services.deviceState.failTask(DEV_ID, taskId, 'another reason')
  const hits = await tasks(b)
  assert.deepEqual(
    hits.map((h) => [h.id, h.status, h.failedReason]),
    [
      [taskId, 3, 'No 3MF is stored for plate 1 of this project'],
      [plain.body.id, 0, undefined],
    ],
  )
  assert.equal((await messages(b)).length, 1)
})
