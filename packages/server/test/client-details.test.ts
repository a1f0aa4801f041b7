/**
 * Details third-party clients trip over, over real HTTP and MQTT: every amsDetailMapping
 * entry's weight, the task's bed type and cover from the plate's 3MF, `user/upload` with any
 * keys, `success` in the login body, `content` as JSON null in the project list, and the
 * broker's connection events on the owner's report topic.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { reportTopic } from '@bambu-cloud/protocol'
import { addDevice } from './helpers/app.ts'
import { connect, eventually, printReport, startBroker } from './helpers/mqtt.ts'
import { buildThreeMf, plateImage, TWO_PLATES } from './helpers/three-mf.ts'
import { download, md5, pollUntilDone, putFile, startHttpApp, type HttpApp } from './helpers/uploads.ts'

const SUCCESS = { message: 'success', code: null, error: null }

async function uploadProject(ada: ReturnType<HttpApp['as']>, file: Buffer) {
  const created = (await ada('POST', '/v1/iot-service/api/user/project', { name: 'Bracket' })).body
  assert.equal((await putFile(created.upload_url, file)).status, 200)
  await ada('PUT', '/v1/iot-service/api/user/notification', { upload: { origin_file_name: 'Bracket.3mf', ticket: created.upload_ticket } })
  assert.equal((await pollUntilDone(ada, created.upload_ticket)).body.message, 'success')
  return created as { project_id: string; model_id: string; profile_id: string }
}

test('task answers: every amsDetailMapping entry has a weight, and bedType and cover come from the plate’s print-ready file', async (t) => {
  const s = await startHttpApp(t)
  await s.createUser('ada@example.com')
  const ada = s.as((await s.login('ada@example.com')).accessToken)
  await addDevice(s, 'ada@example.com', 'P1S0001', { dev_model_name: 'C12', dev_product_name: 'P1S' })
  // The project's own upload has no thumbnails; the print-ready file of plate 2 has one, and a cool plate.
  const project = await uploadProject(ada, buildThreeMf({ plates: TWO_PLATES.map((p) => ({ ...p, thumbnail: false })) }))
  const printFile = buildThreeMf({ plates: [{ ...TWO_PLATES[1]!, gcode: 'G28\n' }], entries: { 'Metadata/plate_2.json': JSON.stringify({ bed_type: 'cool_plate' }) } })
  const url = (await ada('GET', `/v1/iot-service/api/user/upload?models=${project.model_id}_${project.profile_id}_2.3mf`)).body.urls[0].url
  assert.equal((await putFile(url, printFile)).status, 200)
  const patched = await ada('PATCH', `/v1/iot-service/api/user/project/${project.project_id}`, { profile_id: project.profile_id, profile_print_3mf: [{ md5: md5(printFile), plate_idx: 2, url }] })
  assert.equal(patched.status, 200)

  const task = async (body: Record<string, unknown>) => {
    const id = (await ada('POST', '/v1/user-service/my/task', { deviceId: 'P1S0001', modelId: project.model_id, profileId: Number(project.profile_id), plateIndex: 2, title: 'Bracket', ...body })).body.id
    return (await ada('GET', `/v1/user-service/my/task/${id}`)).body
  }
  // One entry per plate filament (21 g, 10.5 g, 0 g): in order; a weight the client sent stays.
  const perPlate = await task({ amsDetailMapping: [{ ams: 0, filamentType: 'PLA' }, { ams: 1, weight: 5 }, { ams: 2 }] })
  assert.deepEqual(perPlate.amsDetailMapping, [{ ams: 0, filamentType: 'PLA', weight: 21 }, { ams: 1, weight: 5 }, { ams: 2, weight: 0 }])
  assert.equal(perPlate.bedType, 'cool_plate')
  assert.ok(perPlate.cover.startsWith(`${s.base}/files/${project.project_id}/`), perPlate.cover)
  assert.ok((await download(perPlate.cover)).bytes.equals(plateImage(2)), 'the cover is the print-ready file’s plate thumbnail')
  // One entry per project filament (filaments 1, 3 and 4 are on the plate): by number.
  const perProject = await task({ amsDetailMapping: [{ ams: 0 }, { ams: -1 }, { ams: 1 }, { ams: 2 }], bedType: 'hot_plate' })
  assert.deepEqual(perProject.amsDetailMapping.map((m: { weight: number }) => m.weight), [21, 0, 10.5, 0])
  assert.equal(perProject.bedType, 'hot_plate')
})

test('user/upload takes any keys, one entry each, beside "host": "user"; a file PUT there attaches by PATCH', async (t) => {
  const s = await startHttpApp(t)
  await s.createUser('ada@example.com')
  await s.createUser('bob@example.com')
  const ada = s.as((await s.login('ada@example.com')).accessToken)
  const bob = s.as((await s.login('bob@example.com')).accessToken)
  const project = await uploadProject(ada, buildThreeMf({ plates: TWO_PLATES }))

  const res = await ada('GET', '/v1/iot-service/api/user/upload?filename=Bracket.gcode.3mf&size=2048')
  assert.equal(res.status, 200)
  assert.deepEqual(Object.keys(res.body).sort(), ['code', 'error', 'host', 'message', 'urls'])
  assert.deepEqual({ ...res.body, urls: undefined }, { ...SUCCESS, host: 'user', urls: undefined })
  assert.deepEqual(res.body.urls.map((u: { type: string; file: string }) => [u.type, u.file]), [['filename', 'Bracket.gcode.3mf'], ['size', '2048']])
  for (const u of res.body.urls) assert.ok(u.url.startsWith(`${s.base}/files/${project.project_id}/`), u.url)

  const gcode = ';plate 1\nG28\n'
  const printFile = buildThreeMf({ plates: [{ ...TWO_PLATES[0]!, gcode }] })
  assert.equal((await putFile(res.body.urls[0].url, printFile)).status, 200)
  const patched = await ada('PATCH', `/v1/iot-service/api/user/project/${project.project_id}`, { profile_id: project.profile_id, profile_print_3mf: [{ md5: md5(printFile), plate_idx: 1, url: res.body.urls[0].url }] })
  assert.deepEqual([patched.status, patched.body], [200, SUCCESS])
  const plate = (await ada('GET', `/v1/iot-service/api/user/project/${project.project_id}`)).body.profiles[0].context.plates[0]
  assert.equal((await download(plate.gcode.url)).bytes.toString(), gcode)

  // Someone without a project has nothing to upload for.
  assert.deepEqual(await bob('GET', '/v1/iot-service/api/user/upload?filename=x.3mf'), { status: 403, body: { code: 8, error: 'Resource forbidden', message: 'permission denied' } })
})

test('the login body carries "success": true; the project list’s content is JSON null', async (t) => {
  const s = await startHttpApp(t)
  await s.createUser('ada@example.com')
  const login = await fetch(`${s.base}/v1/user-service/user/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: 'ada@example.com', password: 'correct horse battery' }) })
  const body = await login.json()
  assert.equal(login.status, 200)
  assert.equal(body.success, true)
  const ada = s.as(body.accessToken)
  const refreshed = await fetch(`${s.base}/v1/user-service/user/refreshtoken`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: body.refreshToken }) })
  assert.equal((await refreshed.json()).success, true)

  await ada('POST', '/v1/iot-service/api/user/project', { name: 'Bracket' })
  const list = await fetch(`${s.base}/v1/iot-service/api/user/project`, { headers: { authorization: `Bearer ${body.accessToken}` } })
  const text = await list.text()
  assert.match(text, /"content":null/)
  assert.equal(JSON.parse(text).projects[0].content, null)
})

test('the owner’s clients get client.connected and client.disconnected on the printer’s report topic; nobody else does, and they are not reports', async (t) => {
  const s = await startHttpApp(t)
  const broker = await startBroker(s, { flushEvery: 50 })
  const { uid } = await s.createUser('ada@example.com')
  const bobUser = await s.createUser('bob@example.com')
  const adaToken = (await s.login('ada@example.com')).accessToken
  const bobToken = (await s.login('bob@example.com')).accessToken
  const device = await addDevice(s, 'ada@example.com', 'DEV1', { dev_access_code: '12345678' })
  await addDevice(s, 'bob@example.com', 'DEV2', { dev_access_code: '87654321' })

  const owner = await connect(broker, `u_${uid}`, adaToken)
  await owner.client.subscribeAsync(reportTopic('DEV1'))
  const other = await connect(broker, `u_${bobUser.uid}`, bobToken)
  await other.client.subscribeAsync('device/+/report')
  t.after(() => Promise.all([owner.end(), other.end()]))

  const printer = await connect(broker, 'DEV1', device.dev_access_code)
  await owner.receive((m) => m.topic === reportTopic('DEV1') && JSON.parse(m.text).event?.event === 'client.connected')
  await printer.client.publishAsync(reportTopic('DEV1'), printReport({ gcode_state: 'IDLE' }))
  await owner.receive((m) => JSON.parse(m.text).print?.gcode_state === 'IDLE')
  await printer.end()
  const events = await eventually(() => {
    const seen = owner.received.filter((m) => m.topic === reportTopic('DEV1') && 'event' in JSON.parse(m.text))
    return seen.length === 2 && seen
  })
  assert.deepEqual(events.map((m) => JSON.parse(m.text)), [{ event: { event: 'client.connected' } }, { event: { event: 'client.disconnected' } }])

  await other.roundTrip()
  assert.deepEqual(other.received, [])
  // Only the printer's report went to the device state.
  await eventually(() => broker.stats().reports.accepted === 1)
  assert.deepEqual(broker.stats().reports, { accepted: 1, ignored: 0, dropped: 0 })
})
