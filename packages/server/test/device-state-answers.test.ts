/**
 * A printer's answers to requests (`print` messages echoing a command other than
 * `push_status`) are not its state: they never move a task by the ids they echo, and a
 * refused `project_file` fails the task it names, with the printer's reason.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { combineReports } from '../src/services/device-state.ts'
import { addDevice, bearer, getJson, report, startTestApp } from './helpers/app.ts'

const answer = (taskId: number, result: 'success' | 'failed', reason = '') => ({
  print: { sequence_id: '0', command: 'project_file', param: 'Metadata/plate_1.gcode', url: 'ftp:///a.3mf', task_id: String(taskId), subtask_name: 'Next', result, reason },
})

test('a project_file answer echoing a new task after a finished print neither finishes it nor lands in the state', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('owner@example.com')
  const { accessToken } = await s.login('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1')
  await report(s, 'DEV1', { gcode_state: 'RUNNING', subtask_name: 'First', gcode_start_time: '1700000000', task_id: '0' })
  await report(s, 'DEV1', { gcode_state: 'FINISH' })
  const created = await s.request({ method: 'POST', url: '/v1/user-service/my/task', headers: bearer(accessToken), payload: { deviceId: 'DEV1', title: 'Next' } })
  const next = created.json().id as number

  const applied = await s.admin({ method: 'POST', url: '/admin/v1/devices/DEV1/report', payload: answer(next, 'success') })
  assert.equal(applied.statusCode, 204)
  const tasks = await getJson(s, accessToken, '/v1/user-service/my/tasks')
  assert.deepEqual(tasks.hits.map((h: { title: string; status: number }) => [h.title, h.status]), [['Next', 0], ['First', 2]])
  const state = JSON.parse((await s.app.services.devices.get('DEV1'))!.state)
  assert.deepEqual([state.print.command, state.print.subtask_name, state.print.result], ['push_status', 'First', undefined])

  await s.admin({ method: 'POST', url: '/admin/v1/devices/DEV1/report', payload: answer(next, 'failed', 'SD card is full') })
  const failed = (await getJson(s, accessToken, `/v1/user-service/my/task/${next}`))
  assert.deepEqual([failed.status, failed.failedReason], [3, 'Refused by the printer: SD card is full'])
  const messages = await getJson(s, accessToken, '/v1/user-service/my/messages')
  assert.deepEqual(messages.hits[0].taskMessage, { id: next, title: 'Next', cover: failed.cover, status: 3, deviceId: 'DEV1', failedReason: 'Refused by the printer: SD card is full' })
})

test('a refused project_file for a print already under way leaves that print alone', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('owner@example.com')
  const { accessToken } = await s.login('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1')
  const created = await s.request({ method: 'POST', url: '/v1/user-service/my/task', headers: bearer(accessToken), payload: { deviceId: 'DEV1', title: 'Job' } })
  const id = created.json().id as number
  await report(s, 'DEV1', { gcode_state: 'RUNNING', task_id: String(id) })
  await s.admin({ method: 'POST', url: '/admin/v1/devices/DEV1/report', payload: answer(id, 'failed', 'a print is already in progress') })
  const task = await getJson(s, accessToken, `/v1/user-service/my/task/${id}`)
  assert.deepEqual([task.status, task.failedReason], [4, undefined])
})

test('answers are never combined with status reports', () => {
  const status = { print: { command: 'push_status', mc_percent: 5, task_id: '7' } }
  const ack = { print: { command: 'pause', sequence_id: '1', result: 'success', task_id: '7' } }
  assert.equal(combineReports(status, ack), null)
  assert.equal(combineReports(ack, status), null)
  assert.deepEqual(combineReports(status, { print: { command: 'push_status', mc_percent: 6 } }), { print: { command: 'push_status', mc_percent: 6, task_id: '7' } })
})
