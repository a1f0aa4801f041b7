/**
 * Two users; the second walks every authenticated route with the first one's ids. No
 * route may return or change anything of another user. The walk table must name every
 * route the server registers, so a route added later is walked too.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { addDevice, bearer, getJson, report, startTestApp, type TestApp } from './helpers/app.ts'

const FORBIDDEN = { code: 8, error: 'Resource forbidden', message: 'permission denied' }

interface Owned {
  token: string
  uid: number
  devId: string
  taskId: number
  projectId: number
  profileId: number
  modelId: string
  uploadTicket: string
  uploadUrl: string
  presetId: string
  signOnTicket: string
}

async function setUp(s: TestApp, account: string, devId: string): Promise<Owned> {
  const user = await s.createUser(account)
  const { accessToken: token } = await s.login(account)
  await addDevice(s, account, devId)
  await report(s, devId, { gcode_state: 'RUNNING', subtask_name: `${account} print`, gcode_start_time: '1700000000' })
  await report(s, devId, { gcode_state: 'FINISH' })
  const created = await s.request({ method: 'POST', url: '/v1/user-service/my/task', headers: bearer(token), payload: { deviceId: devId, title: `${account} task` } })
  const createdProject = await s.request({ method: 'POST', url: '/v1/iot-service/api/user/project', headers: bearer(token), payload: { name: `${account} project` } })
  assert.equal(createdProject.statusCode, 200, createdProject.body)
  const project = createdProject.json()
  const preset = await s.request({
    method: 'POST',
    url: '/v1/iot-service/api/slicer/setting',
    headers: bearer(token),
    payload: { name: `${account} PLA`, type: 'filament', version: '01.09.00.00', base_id: 'GFSA00', filament_id: 'GFA00', setting: { nozzle_temperature: ['220'] } },
  })
  assert.equal(preset.statusCode, 200, preset.body)
  const { ticket } = await getJson(s, token, '/v1/user-service/user/ticket')
  return {
    token,
    uid: user.uid,
    devId,
    taskId: created.json().id,
    projectId: Number(project.project_id),
    profileId: Number(project.profile_id),
    modelId: project.model_id,
    uploadTicket: project.upload_ticket,
    uploadUrl: project.upload_url,
    presetId: preset.json().setting_id,
    signOnTicket: ticket,
  }
}

type Check = (a: Owned, b: Owned, call: (o: InjectOptions) => Promise<LightMyRequestResponse>) => Promise<void>

function forbidden(res: LightMyRequestResponse, what: string) {
  assert.equal(res.statusCode, 403, `${what}: ${res.body}`)
  assert.deepEqual(res.json(), FORBIDDEN, what)
}

/** Asserts nothing of A's appears anywhere in an answer. */
function mentionsNone(res: LightMyRequestResponse, a: Owned, what: string) {
  assert.equal(res.statusCode, 200, `${what}: ${res.body}`)
  for (const needle of [a.devId, String(a.taskId), String(a.projectId), String(a.profileId), a.modelId, a.presetId, `${a.uid}`]) {
    assert.ok(!res.body.includes(needle), `${what} leaks ${needle}`)
  }
}

/** Route -> what B tries with A's ids, and what must (not) happen. */
const WALK: Record<string, Check> = {
  'GET /v1/user-service/user/ticket': async (a, _b, call) => {
    const res = await call({ method: 'GET', url: '/v1/user-service/user/ticket' })
    assert.equal(res.statusCode, 200)
    assert.notEqual(res.json().ticket, a.signOnTicket)
  },
  'GET /v1/user-service/my/profile': async (a, b, call) => {
    const res = await call({ method: 'GET', url: '/v1/user-service/my/profile' })
    assert.equal(res.json().uid, b.uid)
    mentionsNone(res, a, 'profile')
  },
  'POST /v1/user-service/my/logout': async () => {
    // Walked last, below: logging B out must not touch A's login.
  },
  'GET /v1/design-user-service/my/preference': async (a, b, call) => {
    const res = await call({ method: 'GET', url: '/v1/design-user-service/my/preference' })
    assert.equal(res.json().uid, b.uid)
  },
  'GET /v1/iot-service/api/slicer/setting': async (a, _b, call) => {
    mentionsNone(await call({ method: 'GET', url: '/v1/iot-service/api/slicer/setting?version=01.09.00.00' }), a, 'presets')
  },
  'GET /v1/iot-service/api/slicer/setting/:id': async (a, _b, call) => {
    forbidden(await call({ method: 'GET', url: `/v1/iot-service/api/slicer/setting/${a.presetId}` }), 'read preset')
  },
  'POST /v1/iot-service/api/slicer/setting': async (a, _b, call) => {
    // B saving a preset "based on" A's private one gets a preset of its own; A's is untouched.
    const res = await call({ method: 'POST', url: '/v1/iot-service/api/slicer/setting', payload: { name: 'copy', type: 'filament', version: '01.09.00.00', base_id: a.presetId, setting: {} } })
    assert.equal(res.statusCode, 200)
    assert.notEqual(res.json().setting_id, a.presetId)
  },
  'PATCH /v1/iot-service/api/slicer/setting/:id': async (a, _b, call) => {
    forbidden(await call({ method: 'PATCH', url: `/v1/iot-service/api/slicer/setting/${a.presetId}`, payload: { name: 'stolen' } }), 'change preset')
  },
  'DELETE /v1/iot-service/api/slicer/setting/:id': async (a, _b, call) => {
    forbidden(await call({ method: 'DELETE', url: `/v1/iot-service/api/slicer/setting/${a.presetId}` }), 'delete preset')
  },
  'GET /v1/iot-service/api/user/bind': async (a, _b, call) => {
    mentionsNone(await call({ method: 'GET', url: '/v1/iot-service/api/user/bind' }), a, 'bind')
  },
  'GET /v1/iot-service/api/user/bind_list': async (a, _b, call) => {
    const res = await call({ method: 'GET', url: `/v1/iot-service/api/user/bind_list?dev_ids=${a.devId}` })
    assert.deepEqual(res.json().devices, [])
  },
  'DELETE /v1/iot-service/api/user/bind': async (a, _b, call) => {
    forbidden(await call({ method: 'DELETE', url: '/v1/iot-service/api/user/bind', payload: { dev_id: a.devId } }), 'unbind (body)')
    forbidden(await call({ method: 'DELETE', url: `/v1/iot-service/api/user/bind?dev_id=${a.devId}` }), 'unbind (query)')
  },
  'PATCH /v1/iot-service/api/user/device/info': async (a, _b, call) => {
    forbidden(await call({ method: 'PATCH', url: '/v1/iot-service/api/user/device/info', payload: { dev_id: a.devId, dev_name: 'stolen' } }), 'rename')
  },
  'GET /v1/iot-service/api/user/device/version': async (a, _b, call) => {
    forbidden(await call({ method: 'GET', url: `/v1/iot-service/api/user/device/version?dev_id=${a.devId}` }), 'version dev_id')
    forbidden(await call({ method: 'GET', url: `/v1/iot-service/api/user/device/version?device_id=${a.devId}` }), 'version device_id')
    mentionsNone(await call({ method: 'GET', url: '/v1/iot-service/api/user/device/version' }), a, 'versions')
  },
  'GET /v1/iot-service/api/user/print': async (a, _b, call) => {
    mentionsNone(await call({ method: 'GET', url: '/v1/iot-service/api/user/print?force=true' }), a, 'print')
  },
  'POST /v1/iot-service/api/user/ttcode': async (a, _b, call) => {
    forbidden(await call({ method: 'POST', url: '/v1/iot-service/api/user/ttcode', payload: { dev_id: a.devId } }), 'ttcode')
  },
  'GET /v1/iot-service/api/user/task/:id': async (a, _b, call) => {
    forbidden(await call({ method: 'GET', url: `/v1/iot-service/api/user/task/${a.taskId}` }), 'iot task')
  },
  'GET /v1/user-service/my/tasks': async (a, _b, call) => {
    mentionsNone(await call({ method: 'GET', url: '/v1/user-service/my/tasks' }), a, 'tasks')
    const byDevice = await call({ method: 'GET', url: `/v1/user-service/my/tasks?deviceId=${a.devId}` })
    assert.deepEqual(byDevice.json(), { total: 0, hits: [] })
    const afterA = await call({ method: 'GET', url: `/v1/user-service/my/tasks?after=${a.taskId + 1}` })
    mentionsNone(afterA, a, 'tasks after')
  },
  'POST /v1/user-service/my/task': async (a, _b, call) => {
    forbidden(await call({ method: 'POST', url: '/v1/user-service/my/task', payload: { deviceId: a.devId, title: 'intruder' } }), 'create task')
  },
  'GET /v1/user-service/my/task/:id': async (a, _b, call) => {
    forbidden(await call({ method: 'GET', url: `/v1/user-service/my/task/${a.taskId}` }), 'my task')
  },
  'GET /v1/user-service/my/messages': async (a, _b, call) => {
    mentionsNone(await call({ method: 'GET', url: '/v1/user-service/my/messages' }), a, 'messages')
  },
  'GET /v1/user-service/my/ticket/:id': async (a, _b, call) => {
    const res = await call({ method: 'GET', url: `/v1/user-service/my/ticket/${a.signOnTicket}` })
    assert.deepEqual(res.json(), { source: '', isValid: false })
  },
  'POST /v1/user-service/my/ticket/:id': async (a, _b, call) => {
    const res = await call({ method: 'POST', url: `/v1/user-service/my/ticket/${a.signOnTicket}`, payload: {} })
    assert.deepEqual(res.json(), { source: '', isValid: false })
  },
  'GET /v1/iot-service/api/user/project': async (a, _b, call) => {
    mentionsNone(await call({ method: 'GET', url: '/v1/iot-service/api/user/project' }), a, 'projects')
  },
  'GET /v1/iot-service/api/user/project/:project_id': async (a, _b, call) => {
    forbidden(await call({ method: 'GET', url: `/v1/iot-service/api/user/project/${a.projectId}` }), 'project')
  },
  'GET /v1/iot-service/api/user/profile/:profile_id': async (a, _b, call) => {
    forbidden(await call({ method: 'GET', url: `/v1/iot-service/api/user/profile/${a.profileId}?model_id=${a.modelId}` }), 'profile')
  },
  'GET /v1/iot-service/api/user/notification': async (a, _b, call) => {
    forbidden(await call({ method: 'GET', url: `/v1/iot-service/api/user/notification?action=upload&ticket=${a.uploadTicket}` }), 'notification')
  },
  'PUT /v1/iot-service/api/user/notification': async (a, _b, call) => {
    forbidden(await call({ method: 'PUT', url: '/v1/iot-service/api/user/notification', payload: { upload: { ticket: a.uploadTicket, origin_file_name: 'x.3mf' } } }), 'notify')
  },
  'POST /v1/iot-service/api/user/project': async (a, _b, call) => {
    const res = await call({ method: 'POST', url: '/v1/iot-service/api/user/project', payload: { name: 'mine' } })
    assert.equal(res.statusCode, 200)
    const body = res.json()
    assert.ok(body.project_id !== String(a.projectId) && body.model_id !== a.modelId && body.upload_ticket !== a.uploadTicket)
  },
  'PATCH /v1/iot-service/api/user/project/:project_id': async (a, b, call) => {
    const url = (id: number) => `/v1/iot-service/api/user/project/${id}`
    forbidden(await call({ method: 'PATCH', url: url(a.projectId), payload: { name: 'stolen' } }), 'rename project')
    forbidden(await call({ method: 'PATCH', url: url(b.projectId), payload: { profile_id: String(a.profileId) } }), 'name a profile')
    const print = { profile_id: String(b.profileId), profile_print_3mf: [{ plate_idx: 1, url: a.uploadUrl }] }
    forbidden(await call({ method: 'PATCH', url: url(b.projectId), payload: print }), 'attach a file')
  },
  'GET /v1/iot-service/api/user/upload': async (a, _b, call) => {
    forbidden(await call({ method: 'GET', url: `/v1/iot-service/api/user/upload?models=${a.modelId}_${a.profileId}_1.3mf` }), 'upload urls')
  },
}

test('a second user walks every authenticated route with the first user’s ids and gets nothing of theirs', async (t) => {
  const s = await startTestApp(t)
  const a = await setUp(s, 'alice@example.com', 'ALICE01')
  const b = await setUp(s, 'bob@example.com', 'BOB01')

  const routes = s.app.routeTable.filter((r) => r.auth === 'user').map((r) => `${r.method} ${r.url}`)
  for (const route of routes) assert.ok(WALK[route], `the walk covers ${route}`)

  const before = {
    bind: (await getJson(s, a.token, '/v1/iot-service/api/user/bind')).devices,
    tasks: await getJson(s, a.token, '/v1/user-service/my/tasks'),
    preset: await getJson(s, a.token, `/v1/iot-service/api/slicer/setting/${a.presetId}`),
    project: await getJson(s, a.token, `/v1/iot-service/api/user/project/${a.projectId}`),
  }
  for (const prefix of ['', '/api']) {
    const call = (o: InjectOptions) => s.request({ ...o, url: `${prefix}${o.url}`, headers: { ...bearer(b.token), ...(o.headers ?? {}) } })
    for (const route of routes) await WALK[route]!(a, b, call)
  }
  // Nothing of A's changed.
  assert.deepEqual((await getJson(s, a.token, '/v1/iot-service/api/user/bind')).devices, before.bind)
  assert.deepEqual(await getJson(s, a.token, '/v1/user-service/my/tasks'), before.tasks)
  assert.deepEqual(await getJson(s, a.token, `/v1/iot-service/api/slicer/setting/${a.presetId}`), before.preset)
  assert.deepEqual(await getJson(s, a.token, `/v1/iot-service/api/user/project/${a.projectId}`), before.project)

  // B logging out ends B's login only.
  const out = await s.request({ method: 'POST', url: '/v1/user-service/my/logout', headers: bearer(b.token), payload: { refreshtoken: '' } })
  assert.equal(out.statusCode, 200)
  assert.equal((await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(b.token) })).statusCode, 401)
  assert.equal((await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(a.token) })).statusCode, 200)
})
