import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addDevice, bearer, getJson, report, startTestApp, type TestApp } from './helpers/app.ts'

async function owner(s: TestApp, account = 'owner@example.com') {
  await s.createUser(account)
  const { accessToken } = await s.login(account)
  return accessToken
}

async function views(s: TestApp, token: string, devId: string) {
  const bind = await getJson(s, token, '/v1/iot-service/api/user/bind')
  const print = await getJson(s, token, '/v1/iot-service/api/user/print')
  const tasks = await getJson(s, token, `/v1/user-service/my/tasks?deviceId=${devId}`)
  const messages = await getJson(s, token, '/v1/user-service/my/messages')
  return {
    device: bind.devices.find((d: { dev_id: string }) => d.dev_id === devId),
    print: print.devices.find((d: { dev_id: string }) => d.dev_id === devId),
    tasks,
    messages,
  }
}

test('the device-state table, row by row, through bind, print, my/tasks and my/messages', async (t) => {
  const s = await startTestApp(t)
  const token = await owner(s)
  await addDevice(s, 'owner@example.com', 'DEV1')

  // No report yet: IDLE, no task, all live fields null.
  let v = await views(s, token, 'DEV1')
  assert.equal(v.device.print_status, 'IDLE')
  assert.equal(v.device.print_job, null)
  assert.equal(v.print.task_id, null)
  assert.equal(v.print.progress, null)
  assert.deepEqual(v.tasks, { total: 0, hits: [] })

  await report(s, 'DEV1', { gcode_state: 'IDLE' })
  v = await views(s, token, 'DEV1')
  assert.equal(v.device.print_status, 'IDLE')
  assert.equal(v.tasks.total, 0)

  for (const state of ['PREPARE', 'SLICING', 'RUNNING']) {
    await report(s, 'DEV1', { gcode_state: state, subtask_name: 'Benchy', gcode_start_time: '1700000000', mc_percent: 10, mc_remaining_time: 30, task_id: '0' })
    v = await views(s, token, 'DEV1')
    assert.equal(v.device.print_status, 'RUNNING', state)
    assert.equal(v.print.task_status, 'RUNNING', state)
    assert.equal(v.tasks.total, 1, state)
    assert.equal(v.tasks.hits[0].status, 4, state)
  }
  const task = v.tasks.hits[0]
  assert.equal(task.mode, 'lan_file')
  assert.equal(task.title, 'Benchy')
  assert.equal(task.startTime, '2023-11-14T22:13:20Z')
  assert.equal(task.endTime, task.startTime, 'while running, endTime equals startTime')
  assert.equal(v.device.print_job, task.id)
  assert.equal(v.print.task_id, String(task.id))
  assert.equal(v.print.progress, 10)
  assert.equal(v.print.prediction, 1800)
  assert.deepEqual(v.messages.hits, [])

  await report(s, 'DEV1', { gcode_state: 'PAUSE' })
  v = await views(s, token, 'DEV1')
  assert.equal(v.device.print_status, 'PAUSE')
  assert.equal(v.print.task_status, 'PAUSE')
  assert.equal(v.tasks.hits[0].status, 4)

  s.clock.advance(60_000)
  await report(s, 'DEV1', { gcode_state: 'FINISH', mc_percent: 100, mc_remaining_time: 0 })
  v = await views(s, token, 'DEV1')
  assert.equal(v.device.print_status, 'SUCCESS')
  assert.equal(v.print.task_status, 'SUCCESS')
  assert.equal(v.tasks.total, 1)
  assert.equal(v.tasks.hits[0].status, 2)
  assert.notEqual(v.tasks.hits[0].endTime, v.tasks.hits[0].startTime)
  assert.equal(v.messages.hits.length, 1)
  assert.equal(v.messages.hits[0].type, 6)
  assert.equal(v.messages.hits[0].taskMessage.id, task.id)
  assert.equal(v.messages.hits[0].taskMessage.status, 2)

  // The printer keeps repeating FINISH: still one task, one message.
  await report(s, 'DEV1', { gcode_state: 'FINISH' })
  v = await views(s, token, 'DEV1')
  assert.equal(v.tasks.total, 1)
  assert.equal(v.messages.hits.length, 1)

  // A new print that fails.
  await report(s, 'DEV1', { gcode_state: 'RUNNING', subtask_name: 'Cube', gcode_start_time: '1700003600' })
  await report(s, 'DEV1', { gcode_state: 'FAILED' })
  v = await views(s, token, 'DEV1')
  assert.equal(v.device.print_status, 'FAILED')
  assert.equal(v.tasks.total, 2)
  assert.equal(v.tasks.hits[0].title, 'Cube')
  assert.equal(v.tasks.hits[0].status, 3)
  assert.equal(v.messages.hits.length, 2)
  assert.equal(v.messages.hits[0].taskMessage.status, 3)
})

test('a cloud task created with my/task is driven by reports naming its id', async (t) => {
  const s = await startTestApp(t)
  const token = await owner(s)
  await addDevice(s, 'owner@example.com', 'DEV1')
  const created = await s.request({
    method: 'POST',
    url: '/v1/user-service/my/task',
    headers: bearer(token),
    payload: { deviceId: 'DEV1', title: 'Rocket', modelId: 'US1234', profileId: 55, plateIndex: 1, weight: 12.5, costTime: 3600, bedType: 'textured_plate', amsMapping: [0, 1] },
  })
  assert.equal(created.statusCode, 200)
  const { id } = created.json()
  assert.equal(typeof id, 'number')
  let hit = await getJson(s, token, `/v1/user-service/my/task/${id}`)
  assert.equal(hit.status, 0)
  assert.equal(hit.bedType, 'textured_plate')
  assert.deepEqual(hit.amsMapping, [0, 1])
  assert.equal(hit.mode, 'cloud_file')

  await report(s, 'DEV1', { gcode_state: 'RUNNING', task_id: String(id), subtask_name: 'Rocket', mc_percent: 5 })
  hit = await getJson(s, token, `/v1/user-service/my/task/${id}`)
  assert.equal(hit.status, 4)
  await report(s, 'DEV1', { gcode_state: 'FINISH' })
  hit = await getJson(s, token, `/v1/user-service/my/task/${id}`)
  assert.equal(hit.status, 2)
  const all = await getJson(s, token, '/v1/user-service/my/tasks')
  assert.equal(all.total, 1, 'no extra LAN task')
})

test('a new print closes a previous task still running with status 3; offline leaves the task alone', async (t) => {
  const s = await startTestApp(t)
  const token = await owner(s)
  await addDevice(s, 'owner@example.com', 'DEV1')
  await report(s, 'DEV1', { gcode_state: 'RUNNING', subtask_name: 'One', gcode_start_time: '1700000000' })
  const off = await s.admin({ method: 'POST', url: '/admin/v1/devices/DEV1/online', payload: { online: false } })
  assert.equal(off.statusCode, 204)
  let v = await views(s, token, 'DEV1')
  assert.equal(v.device.online, false)
  assert.equal(v.tasks.hits[0].status, 4)
  await report(s, 'DEV1', { gcode_state: 'RUNNING', subtask_name: 'Two', gcode_start_time: '1700009999' })
  v = await views(s, token, 'DEV1')
  assert.equal(v.tasks.total, 2)
  assert.equal(v.tasks.hits[0].title, 'Two')
  assert.equal(v.tasks.hits[0].status, 4)
  assert.equal(v.tasks.hits[1].title, 'One')
  assert.equal(v.tasks.hits[1].status, 3)
})

test('partial reports merge; a LAN print reported many times is one task', async (t) => {
  const s = await startTestApp(t)
  const token = await owner(s)
  await addDevice(s, 'owner@example.com', 'DEV1')
  await report(s, 'DEV1', { gcode_state: 'RUNNING', subtask_name: 'Vase', gcode_start_time: '1700000000', mc_percent: 1, mc_remaining_time: 90, ams: { tray_now: '1', ams: [] } })
  for (let p = 2; p <= 60; p++) await report(s, 'DEV1', { mc_percent: p })
  const detail = await s.admin({ method: 'GET', url: '/admin/v1/devices/DEV1' })
  const state = detail.json().state.print
  assert.equal(state.mc_percent, 60)
  assert.equal(state.subtask_name, 'Vase')
  assert.equal(state.mc_remaining_time, 90)
  assert.deepEqual(state.ams, { tray_now: '1', ams: [] })
  await report(s, 'DEV1', { ams: { tray_now: '2' } })
  assert.deepEqual((await s.admin({ method: 'GET', url: '/admin/v1/devices/DEV1' })).json().state.print.ams, { tray_now: '2', ams: [] })
  const v = await views(s, token, 'DEV1')
  assert.equal(v.tasks.total, 1)
  assert.equal(v.print.progress, 60)
})
