import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bearer, startTestApp, type TestApp } from './helpers/app.ts'

const FORBIDDEN = { message: 'permission denied', code: 8, error: 'Resource forbidden' }
const SUCCESS = { message: 'success', code: null, error: null }
const T0 = Date.UTC(2024, 2, 5, 7, 8, 9)

/** A profile context shaped like the cloud's, with our own values. */
function context(overrides: Record<string, unknown> = {}) {
  const file = (name: string, dir = 'Metadata') => ({ name, dir, url: `https://files.example.org/m/${name}` })
  return {
    compatibility: { dev_model_name: 'C12', dev_product_name: 'P1S', nozzle_diameter: 0.4 },
    pictures: null,
    configs: [file('project_settings.config'), file('model_settings.config'), file('slice_info.config')],
    plates: [
      {
        index: 1,
        thumbnail: file('plate_1.png'),
        prediction: 1800,
        weight: 7.25,
        gcode: { name: null, dir: null, url: null },
        filaments: [{ id: '1', type: 'PETG', color: '#FF6A13', used_m: '2.41', used_g: '7.25' }],
      },
      {
        index: 2,
        thumbnail: file('plate_2.png'),
        prediction: 5025,
        weight: 31.5,
        gcode: { name: 'plate_2.gcode', dir: 'Metadata', url: 'https://files.example.org/m/plate_2.gcode' },
        filaments: [
          { id: '1', type: 'PLA', color: '#000000', used_m: '7.03', used_g: '21.00' },
          { id: '3', type: 'PLA', color: '#FFFFFF', used_m: '3.5', used_g: '10.50' },
        ],
      },
    ],
    materials: [{ color: 'FF6A13', material: 'PETG' }],
    auxiliary_pictures: [],
    auxiliary_bom: [],
    auxiliary_guide: [],
    auxiliary_other: [],
    ...overrides,
  }
}

async function user(s: TestApp, account: string) {
  const { uid } = await s.createUser(account)
  const { accessToken } = await s.login(account)
  const get = (url: string) => s.request({ method: 'GET', url, headers: bearer(accessToken) })
  return { uid, get }
}

async function setup(t: Parameters<typeof startTestApp>[0]) {
  const s = await startTestApp(t)
  s.clock.ms = T0
  return { s, a: await user(s, 'ada@example.com'), b: await user(s, 'bob@example.com'), projects: s.app.services.projects }
}

test('the project list: empty at first, then the owner’s projects newest first, with the wire types', async (t) => {
  const { s, a, b, projects } = await setup(t)
  assert.deepEqual((await a.get('/v1/iot-service/api/user/project')).json(), { ...SUCCESS, projects: [] })
  const first = await projects.createProject(a.uid, { name: 'Bracket' })
  s.clock.advance(61_000)
  const second = await projects.createProject(a.uid, { name: 'Hinge', content: 'two parts' })
  await projects.createProject(b.uid, { name: 'Not Ada’s' })

  const res = await a.get('/v1/iot-service/api/user/project')
  assert.equal(res.statusCode, 200)
  assert.match(String(res.headers['content-type']), /application\/json/)
  assert.deepEqual(res.json(), {
    ...SUCCESS,
    projects: [
      { project_id: String(second.project_id), user_id: String(a.uid), model_id: second.model_id, status: 'ACTIVE', name: 'Hinge', content: 'two parts', create_time: '2024-03-05 07:09:10', update_time: '2024-03-05 07:09:10' },
      { project_id: String(first.project_id), user_id: String(a.uid), model_id: first.model_id, status: 'ACTIVE', name: 'Bracket', content: null, create_time: '2024-03-05 07:08:09', update_time: '2024-03-05 07:08:09' },
    ],
  })
  for (const p of res.json().projects) {
    assert.match(p.project_id, /^\d+$/)
    assert.match(p.model_id, /^US[0-9a-f]{14}$/)
  }
  assert.notEqual(first.model_id, second.model_id)
  assert.ok(second.project_id > first.project_id, 'ids grow over time')
  assert.deepEqual((await b.get('/v1/iot-service/api/user/project')).json().projects.map((p: { name: string }) => p.name), ['Not Ada’s'])
})

test('a project with its profiles, context passed through unchanged', async (t) => {
  const { s, a, projects } = await setup(t)
  const project = await projects.createProject(a.uid, { name: 'Bracket' })
  s.clock.advance(5_000)
  const profile = await projects.addProfile(project.project_id, { name: 'Bracket 0.2mm', context: context(), filename: 'bracket.3mf' })
  s.clock.advance(1_000)
  const second = await projects.addProfile(project.project_id, { name: 'Bracket fine', context: { plates: [] }, content: '{"note":1}' })

  const res = await a.get(`/v1/iot-service/api/user/project/${project.project_id}`)
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), {
    ...SUCCESS,
    project_id: String(project.project_id),
    user_id: String(a.uid),
    model_id: project.model_id,
    status: 'ACTIVE',
    name: 'Bracket',
    content: null,
    create_time: '2024-03-05 07:08:09',
    // Adding a profile touches the project.
    update_time: '2024-03-05 07:08:15',
    profiles: [
      { profile_id: String(profile.profile_id), model_id: project.model_id, status: 'ACTIVE', name: 'Bracket 0.2mm', content: '{}', create_time: '2024-03-05 07:08:14', update_time: '2024-03-05 07:08:14', context: context() },
      { profile_id: String(second.profile_id), model_id: project.model_id, status: 'ACTIVE', name: 'Bracket fine', content: '{"note":1}', create_time: '2024-03-05 07:08:15', update_time: '2024-03-05 07:08:15', context: { plates: [] } },
    ],
    download_url: null,
    download_md5: null,
    keystore_xml: null,
    upload_url: null,
    upload_ticket: null,
  })
  // The types clients read, spelled out.
  const listed = res.json().profiles[0]
  const plate = listed.context.plates[0]
  assert.equal(typeof listed.profile_id, 'string')
  assert.equal(typeof plate.index, 'number')
  assert.equal(typeof plate.prediction, 'number')
  assert.equal(typeof plate.weight, 'number')
  assert.equal(typeof plate.thumbnail.url, 'string')
  assert.equal(plate.gcode.url, null)
  assert.equal(typeof plate.filaments[0].used_m, 'string')
  assert.equal(listed.context.pictures, null)
  assert.equal(typeof listed.context.compatibility.nozzle_diameter, 'number')
  assert.ok(second.profile_id > profile.profile_id)
})

test('another user’s project, and an unknown one, answer 403 code 8; a malformed id 400', async (t) => {
  const { a, b, projects } = await setup(t)
  const project = await projects.createProject(a.uid, { name: 'Bracket' })
  for (const id of [project.project_id, project.project_id + 1000]) {
    const res = await b.get(`/v1/iot-service/api/user/project/${id}`)
    assert.equal(res.statusCode, 403, `project ${id}`)
    assert.deepEqual(res.json(), FORBIDDEN)
  }
  for (const id of ['abc', '99999999999999999999']) {
    const res = await a.get(`/v1/iot-service/api/user/project/${id}`)
    assert.equal(res.statusCode, 400, id)
    assert.equal(res.json().code, 1002)
  }
})

test('a profile with the file behind it; model_id must match; others’ profiles are forbidden', async (t) => {
  const { a, b, projects } = await setup(t)
  const project = await projects.createProject(a.uid, { name: 'Bracket' })
  const profile = await projects.addProfile(project.project_id, {
    name: 'Bracket 0.2mm',
    context: context(),
    filename: 'bracket.3mf',
    url: 'https://files.example.org/p/bracket.3mf',
    md5: '0cc175b9c0f1b6a831c399e269772661',
  })
  const bare = await projects.addProfile(project.project_id, { name: 'Empty', context: {} })
  const expected = {
    ...SUCCESS,
    profile_id: String(profile.profile_id),
    model_id: project.model_id,
    status: 'ACTIVE',
    name: 'Bracket 0.2mm',
    content: null,
    create_time: '2024-03-05 07:08:09',
    update_time: '2024-03-05 07:08:09',
    context: context(),
    filename: 'bracket.3mf',
    url: 'https://files.example.org/p/bracket.3mf',
    md5: '0cc175b9c0f1b6a831c399e269772661',
    keystore_xml: null,
  }
  const url = `/v1/iot-service/api/user/profile/${profile.profile_id}`
  for (const query of ['', `?model_id=${project.model_id}`, '?model_id=']) {
    const res = await a.get(url + query)
    assert.equal(res.statusCode, 200, query)
    assert.deepEqual(res.json(), expected)
  }
  const bareBody = (await a.get(`/v1/iot-service/api/user/profile/${bare.profile_id}`)).json()
  assert.deepEqual([bareBody.filename, bareBody.url, bareBody.md5, bareBody.context], [null, null, null, {}])

  const other = await projects.createProject(a.uid, { name: 'Other' })
  const mismatch = await a.get(`${url}?model_id=${other.model_id}`)
  assert.equal(mismatch.statusCode, 400)
  assert.deepEqual(mismatch.json(), { code: 1002, error: 'Bad request', message: 'model_id does not match the profile' })

  for (const path of [url, `${url}?model_id=${project.model_id}`, `/v1/iot-service/api/user/profile/${bare.profile_id + 1000}`]) {
    const res = await b.get(path)
    assert.equal(res.statusCode, 403, path)
    assert.deepEqual(res.json(), FORBIDDEN)
  }
})

test('findPlate gives a plate’s cover, weight, time, filament length and grams per filament, for its owner only', async (t) => {
  const { a, b, projects } = await setup(t)
  const project = await projects.createProject(a.uid, { name: 'Bracket' })
  const profile = await projects.addProfile(project.project_id, { name: 'p', context: context() })
  const { model_id } = project
  assert.deepEqual(await projects.findPlate(a.uid, model_id, profile.profile_id, 1), {
    cover: 'https://files.example.org/m/plate_1.png',
    weight: 7.25,
    costTime: 1800,
    length: 2410,
    filaments: [{ id: 1, grams: 7.25 }],
  })
  assert.deepEqual(await projects.findPlate(a.uid, model_id, profile.profile_id, 2), {
    cover: 'https://files.example.org/m/plate_2.png',
    weight: 31.5,
    costTime: 5025,
    length: 10530,
    filaments: [
      { id: 1, grams: 21 },
      { id: 3, grams: 10.5 },
    ],
  })
  assert.equal(await projects.findPlate(a.uid, model_id, profile.profile_id, 3), null)
  assert.equal(await projects.findPlate(b.uid, model_id, profile.profile_id, 1), null)
  assert.equal(await projects.findPlate(a.uid, 'US00000000000000', profile.profile_id, 1), null)
  assert.equal(await projects.findPlate(a.uid, model_id, profile.profile_id + 1, 1), null)

  // A plate without a thumbnail or weight: no cover, the filaments' grams instead.
  const sparse = await projects.addProfile(project.project_id, {
    name: 'sparse',
    context: { plates: [{ index: 1, prediction: 60, filaments: [{ used_m: '0.5', used_g: '1.5' }, { used_m: '0.25', used_g: '0.75' }] }] },
  })
  assert.deepEqual(await projects.findPlate(a.uid, model_id, sparse.profile_id, 1), { cover: null, weight: 2.25, costTime: 60, length: 750, filaments: [{ id: 0, grams: 1.5 }, { id: 0, grams: 0.75 }] })
})

test('notification polls an upload: running until success, or a 422 with the reason; the project shows the running ticket', async (t) => {
  const { a, projects } = await setup(t)
  const project = await projects.createProject(a.uid, { name: 'Bracket' })
  const upload = await projects.openUpload(project.project_id, { uploadUrl: 'https://files.example.org/u/1' })
  const poll = (ticket: string, action = 'upload') => a.get(`/v1/iot-service/api/user/notification?action=${action}&ticket=${ticket}`)

  const running = await poll(upload.ticket)
  assert.equal(running.statusCode, 200)
  assert.deepEqual(running.json(), { message: 'running', code: null, error: null })
  const detail = (await a.get(`/v1/iot-service/api/user/project/${project.project_id}`)).json()
  assert.deepEqual([detail.upload_url, detail.upload_ticket], ['https://files.example.org/u/1', upload.ticket])

  await projects.settleUpload(upload.ticket, 'success')
  assert.deepEqual((await poll(upload.ticket)).json(), { message: 'success', code: null, error: null })
  const after = (await a.get(`/v1/iot-service/api/user/project/${project.project_id}`)).json()
  assert.deepEqual([after.upload_url, after.upload_ticket], [null, null])

  const mesh = await projects.openUpload(project.project_id, { action: 'import_mesh' })
  assert.deepEqual((await poll(mesh.ticket, 'import_mesh')).json(), { message: 'running', code: null, error: null })
  // A failure is never a 2xx (some clients go on at any 2xx): 422 with the reason.
  await projects.settleUpload(mesh.ticket, 'failed', 'The mesh could not be read')
  const failed = await poll(mesh.ticket, 'import_mesh')
  assert.equal(failed.statusCode, 422)
  assert.deepEqual(failed.json(), { code: 1016, error: 'Upload failed', message: 'The mesh could not be read' })
})

test('notification errors: missing or bad fields, unknown tickets, another user’s ticket', async (t) => {
  const { a, b, projects } = await setup(t)
  const project = await projects.createProject(a.uid, { name: 'Bracket' })
  const { ticket } = await projects.openUpload(project.project_id)
  const base = '/v1/iot-service/api/user/notification'

  const noTicket = await a.get(`${base}?action=upload`)
  assert.equal(noTicket.statusCode, 400)
  assert.deepEqual(noTicket.json(), { code: 1000, error: 'Invalid input parameters', message: "field 'ticket' is not set" })
  const noAction = await a.get(`${base}?ticket=${ticket}`)
  assert.equal(noAction.statusCode, 400)
  assert.deepEqual(noAction.json(), { code: 1000, error: 'Invalid input parameters', message: "field 'action' is not set" })
  const badAction = await a.get(`${base}?action=download&ticket=${ticket}`)
  assert.equal(badAction.statusCode, 400)
  assert.equal(badAction.json().code, 1002)

  // Unknown, or known under another action: 404 in the envelope, never success.
  for (const query of ['action=upload&ticket=0123456789abcdef', `action=import_mesh&ticket=${ticket}`]) {
    const res = await a.get(`${base}?${query}`)
    assert.equal(res.statusCode, 404, query)
    assert.deepEqual(res.json(), { code: 1004, error: 'Not found', message: 'No such ticket' })
  }
  const foreign = await b.get(`${base}?action=upload&ticket=${ticket}`)
  assert.equal(foreign.statusCode, 403)
  assert.deepEqual(foreign.json(), FORBIDDEN)
})

test('every project route also answers under /api/v1', async (t) => {
  const { a, projects } = await setup(t)
  const project = await projects.createProject(a.uid, { name: 'Bracket' })
  const profile = await projects.addProfile(project.project_id, { name: 'p', context: context() })
  const { ticket } = await projects.openUpload(project.project_id)
  for (const path of [
    '/iot-service/api/user/project',
    `/iot-service/api/user/project/${project.project_id}`,
    `/iot-service/api/user/profile/${profile.profile_id}?model_id=${project.model_id}`,
    `/iot-service/api/user/notification?action=upload&ticket=${ticket}`,
  ]) {
    const direct = await a.get(`/v1${path}`)
    const mirrored = await a.get(`/api/v1${path}`)
    assert.equal(direct.statusCode, 200, path)
    assert.equal(mirrored.statusCode, 200, path)
    assert.deepEqual(mirrored.json(), direct.json())
  }
})
