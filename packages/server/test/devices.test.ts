import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addDevice, bearer, getJson, report, startTestApp, type TestApp } from './helpers/app.ts'

const FORBIDDEN = { code: 8, error: 'Resource forbidden', message: 'permission denied' }

async function user(s: TestApp, account: string) {
  await s.createUser(account)
  return (await s.login(account)).accessToken
}

test('user/bind lists the caller’s printers with every field and its JSON type', async (t) => {
  const s = await startTestApp(t)
  const token = await user(s, 'owner@example.com')
  const admin = await addDevice(s, 'owner@example.com', '00M00A280102436', { nozzle_diameter: 0.6, dev_structure: 'corexy', name: 'Workshop X1C' })
  assert.match(admin.dev_access_code, /^\d{8}$/)
  const body = await getJson(s, token, '/v1/iot-service/api/user/bind')
  assert.deepEqual(body, {
    message: 'success',
    code: null,
    error: null,
    devices: [
      {
        dev_id: '00M00A280102436',
        name: 'Workshop X1C',
        online: false,
        print_status: 'IDLE',
        dev_model_name: 'BL-P001',
        dev_product_name: 'X1 Carbon',
        dev_access_code: admin.dev_access_code,
        nozzle_diameter: 0.6,
        print_job: null,
        dev_structure: 'corexy',
      },
    ],
  })
  const online = await s.admin({ method: 'POST', url: '/admin/v1/devices/00M00A280102436/online', payload: { online: true } })
  assert.equal(online.statusCode, 204)
  assert.equal((await getJson(s, token, '/v1/iot-service/api/user/bind')).devices[0].online, true)
})

test('bind_list filters by dev_ids; rename changes the name', async (t) => {
  const s = await startTestApp(t)
  const token = await user(s, 'owner@example.com')
  for (const id of ['A1', 'B2', 'C3']) await addDevice(s, 'owner@example.com', id)
  const some = await getJson(s, token, '/v1/iot-service/api/user/bind_list?dev_ids=A1,C3,ZZ')
  assert.deepEqual(some.devices.map((d: { dev_id: string }) => d.dev_id).sort(), ['A1', 'C3'])
  const none = await getJson(s, token, '/v1/iot-service/api/user/bind_list?dev_ids=')
  assert.deepEqual(none.devices, [])
  const renamed = await s.request({ method: 'PATCH', url: '/v1/iot-service/api/user/device/info', headers: bearer(token), payload: { dev_id: 'B2', dev_name: 'Garage P1S' } })
  assert.equal(renamed.statusCode, 200)
  assert.deepEqual(renamed.json(), { message: 'success', code: null, error: null })
  const all = await getJson(s, token, '/v1/iot-service/api/user/bind')
  assert.equal(all.devices.find((d: { dev_id: string }) => d.dev_id === 'B2').name, 'Garage P1S')
})

test('DELETE user/bind takes dev_id from the body or the query, and keeps the owner’s history', async (t) => {
  const s = await startTestApp(t)
  const a = await user(s, 'first@example.com')
  await addDevice(s, 'first@example.com', 'DEV1')
  await addDevice(s, 'first@example.com', 'DEV2')
  await report(s, 'DEV1', { gcode_state: 'RUNNING', subtask_name: 'Owned by first', gcode_start_time: '1700000000' })
  await report(s, 'DEV1', { gcode_state: 'FINISH' })
  const ttcode = await s.request({ method: 'POST', url: '/v1/iot-service/api/user/ttcode', headers: bearer(a), payload: { dev_id: 'DEV1' } })
  assert.equal(ttcode.statusCode, 200)

  const viaBody = await s.request({ method: 'DELETE', url: '/v1/iot-service/api/user/bind', headers: bearer(a), payload: { dev_id: 'DEV1', force: false } })
  assert.equal(viaBody.statusCode, 200)
  assert.deepEqual(viaBody.json(), { message: 'success', code: null, error: null })
  const viaQuery = await s.request({ method: 'DELETE', url: '/v1/iot-service/api/user/bind?dev_id=DEV2', headers: bearer(a) })
  assert.equal(viaQuery.statusCode, 200)
  assert.deepEqual((await getJson(s, a, '/v1/iot-service/api/user/bind')).devices, [])

  // The first owner keeps its history.
  const history = await getJson(s, a, '/v1/user-service/my/tasks')
  assert.equal(history.total, 1)
  assert.equal(history.hits[0].title, 'Owned by first')
  assert.equal((await getJson(s, a, '/v1/user-service/my/messages')).hits.length, 1)
  // Its camera codes ended with the binding.
  const gone = await s.request({ method: 'POST', url: '/v1/iot-service/api/user/ttcode', headers: bearer(a), payload: { dev_id: 'DEV1' } })
  assert.equal(gone.statusCode, 403)

  // A later owner of the same printer starts clean and never sees the first owner's tasks.
  const b = await user(s, 'second@example.com')
  await addDevice(s, 'second@example.com', 'DEV1')
  const fresh = await getJson(s, b, '/v1/iot-service/api/user/bind')
  assert.equal(fresh.devices[0].print_status, 'IDLE')
  assert.equal(fresh.devices[0].print_job, null)
  assert.deepEqual(await getJson(s, b, '/v1/user-service/my/tasks?deviceId=DEV1'), { total: 0, hits: [] })
  assert.deepEqual((await getJson(s, b, '/v1/user-service/my/messages')).hits, [])
  // The same LAN print reported again becomes the new owner's own task.
  await report(s, 'DEV1', { gcode_state: 'RUNNING', subtask_name: 'Owned by first', gcode_start_time: '1700000000' })
  assert.equal((await getJson(s, b, '/v1/user-service/my/tasks')).total, 1)
  assert.equal((await getJson(s, a, '/v1/user-service/my/tasks')).total, 1)

  const missing = await s.request({ method: 'DELETE', url: '/v1/iot-service/api/user/bind', headers: bearer(a) })
  assert.equal(missing.statusCode, 400)
})

test('the admin API refuses to bind a printer someone has (409), and binds it once unbound', async (t) => {
  const s = await startTestApp(t)
  await user(s, 'first@example.com')
  await user(s, 'second@example.com')
  await addDevice(s, 'first@example.com', 'DEV1')
  const taken = await s.admin({ method: 'POST', url: '/admin/v1/devices', payload: { dev_id: 'DEV1', name: 'x', dev_model_name: 'C12', dev_product_name: 'P1S', owner: 'second@example.com' } })
  assert.equal(taken.statusCode, 409)
  const unknownOwner = await s.admin({ method: 'POST', url: '/admin/v1/devices', payload: { dev_id: 'DEV2', name: 'x', dev_model_name: 'C12', dev_product_name: 'P1S', owner: 'nobody@example.com' } })
  assert.equal(unknownOwner.statusCode, 400)
  const unbound = await s.admin({ method: 'PATCH', url: '/admin/v1/devices/DEV1', payload: { owner: null } })
  assert.equal(unbound.statusCode, 200)
  assert.equal(unbound.json().owner, null)
  const rebound = await s.admin({ method: 'PATCH', url: '/admin/v1/devices/DEV1', payload: { owner: 'second@example.com', name: 'Renamed' } })
  assert.equal(rebound.json().owner, 'second@example.com')
  assert.equal(rebound.json().name, 'Renamed')
  assert.equal((await s.admin({ method: 'DELETE', url: '/admin/v1/devices/DEV1' })).statusCode, 204)
  assert.equal((await s.admin({ method: 'GET', url: '/admin/v1/devices/DEV1' })).statusCode, 404)
  assert.equal((await s.admin({ method: 'POST', url: '/admin/v1/devices/DEV1/report', payload: { print: {} } })).statusCode, 404)
})

test('device/version: current firmware and the model’s catalog, newest first; dev_id or device_id; 403 for others', async (t) => {
  const s = await startTestApp(t)
  const token = await user(s, 'owner@example.com')
  const other = await user(s, 'other@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1', { firmware_version: '01.01.00.00' })
  await addDevice(s, 'owner@example.com', 'DEV2', { dev_model_name: 'N2S', dev_product_name: 'A1' })
  for (const [model, version] of [['BL-P001', '01.01.00.00'], ['BL-P001', '01.02.00.00'], ['N2S', '01.00.00.05']]) {
    const res = await s.admin({ method: 'POST', url: '/admin/v1/firmware', payload: { dev_model_name: model, version, url: `https://fw.example.org/${version}.bin`, description: 'notes', force_update: false } })
    assert.equal(res.statusCode, 201)
  }
  const one = await getJson(s, token, '/v1/iot-service/api/user/device/version?dev_id=DEV1')
  assert.deepEqual(one.devices, [
    {
      dev_id: 'DEV1',
      version: '01.01.00.00',
      firmware: [
        { version: '01.02.00.00', force_update: false, url: 'https://fw.example.org/01.02.00.00.bin', description: 'notes' },
        { version: '01.01.00.00', force_update: false, url: 'https://fw.example.org/01.01.00.00.bin', description: 'notes' },
      ],
      ams: [],
    },
  ])
  const alias = await getJson(s, token, '/v1/iot-service/api/user/device/version?device_id=DEV2')
  assert.equal(alias.devices[0].version, null, 'unknown until reported')
  assert.equal(alias.devices[0].firmware.length, 1)
  const all = await getJson(s, token, '/v1/iot-service/api/user/device/version')
  assert.equal(all.devices.length, 2)

  // A version report from the printer updates `version`.
  await s.admin({ method: 'POST', url: '/admin/v1/devices/DEV2/report', payload: { info: { command: 'get_version', module: [{ name: 'ota', sw_ver: '01.00.00.05' }] } } })
  assert.equal((await getJson(s, token, '/v1/iot-service/api/user/device/version?dev_id=DEV2')).devices[0].version, '01.00.00.05')

  const denied = await s.request({ method: 'GET', url: '/v1/iot-service/api/user/device/version?dev_id=DEV1', headers: bearer(other) })
  assert.equal(denied.statusCode, 403)
  assert.deepEqual(denied.json(), FORBIDDEN)
})

test('ttcode: random per user and device, stable until unbind', async (t) => {
  const s = await startTestApp(t)
  const token = await user(s, 'owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1')
  const first = await s.request({ method: 'POST', url: '/v1/iot-service/api/user/ttcode', headers: bearer(token), payload: { dev_id: 'DEV1' } })
  const body = first.json()
  assert.equal(body.message, 'success')
  for (const k of ['ttcode', 'passwd', 'authkey', 'region']) assert.equal(typeof body[k], 'string', k)
  assert.equal(body.region, 'us')
  const again = await s.request({ method: 'POST', url: '/v1/iot-service/api/user/ttcode', headers: bearer(token), payload: { dev_id: 'DEV1' } })
  assert.deepEqual(again.json(), body)
  await s.request({ method: 'DELETE', url: '/v1/iot-service/api/user/bind', headers: bearer(token), payload: { dev_id: 'DEV1' } })
  await addDevice(s, 'owner@example.com', 'DEV1')
  const renewed = await s.request({ method: 'POST', url: '/v1/iot-service/api/user/ttcode', headers: bearer(token), payload: { dev_id: 'DEV1' } })
  assert.notEqual(renewed.json().ttcode, body.ttcode)
})

test('iot user/task/{id}: the caller’s task, 403 code 8 for anyone else’s or none', async (t) => {
  const s = await startTestApp(t)
  const token = await user(s, 'owner@example.com')
  const other = await user(s, 'other@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1')
  const { id } = (await s.request({ method: 'POST', url: '/v1/user-service/my/task', headers: bearer(token), payload: { deviceId: 'DEV1', title: 'Gear', modelId: 'M1', profileId: '77' } })).json()
  const mine = await getJson(s, token, `/v1/iot-service/api/user/task/${id}`)
  assert.equal(mine.message, 'success')
  assert.equal(mine.name, 'Gear')
  assert.equal(mine.model_id, 'M1')
  assert.equal(mine.profile_id, '77')
  assert.match(mine.create_time, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
  for (const [who, url] of [[other, `/v1/iot-service/api/user/task/${id}`], [token, '/v1/iot-service/api/user/task/999999999']] as const) {
    const res = await s.request({ method: 'GET', url, headers: bearer(who) })
    assert.equal(res.statusCode, 403)
    assert.deepEqual(res.json(), FORBIDDEN)
  }
  const foreignTask = await s.request({ method: 'POST', url: '/v1/user-service/my/task', headers: bearer(other), payload: { deviceId: 'DEV1' } })
  assert.equal(foreignTask.statusCode, 403)
})

test('the placeholder cover downloads without a token', async (t) => {
  const s = await startTestApp(t)
  const token = await user(s, 'owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1')
  await report(s, 'DEV1', { gcode_state: 'RUNNING', subtask_name: 'Plain' })
  const { hits } = await getJson(s, token, '/v1/user-service/my/tasks')
  const url = new URL(hits[0].cover)
  assert.equal(url.origin, s.config.publicUrl)
  const img = await s.request({ method: 'GET', url: url.pathname })
  assert.equal(img.statusCode, 200)
  assert.equal(img.headers['content-type'], 'image/png')
  assert.deepEqual([...img.rawPayload.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
})

test('my/ticket/{id} tells whether a ticket issued to the caller is still valid', async (t) => {
  const s = await startTestApp(t)
  const token = await user(s, 'owner@example.com')
  const other = await user(s, 'other@example.com')
  const { ticket } = await getJson(s, token, '/v1/user-service/user/ticket')
  assert.deepEqual(await getJson(s, token, `/v1/user-service/my/ticket/${ticket}`), { source: 'api', isValid: true })
  const posted = await s.request({ method: 'POST', url: `/v1/user-service/my/ticket/${ticket}`, headers: bearer(token), payload: {} })
  assert.deepEqual(posted.json(), { source: 'api', isValid: true })
  assert.deepEqual(await getJson(s, other, `/v1/user-service/my/ticket/${ticket}`), { source: '', isValid: false })
  await s.request({ method: 'POST', url: `/v1/user-service/user/ticket/${ticket}`, payload: { ticket } })
  assert.deepEqual(await getJson(s, token, `/v1/user-service/my/ticket/${ticket}`), { source: 'api', isValid: false })
})
