/**
 * The slicer's upload flow over real HTTP, signed URLs fetched as handed out: create the
 * project, PUT the 3MF, notify, poll, PATCH, the print-ready file, the task; then every
 * read checked field by field against the fixture, and every link downloaded without a
 * token. Also in the order a client that never polls takes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addDevice } from './helpers/app.ts'
import { buildThreeMf, fixtureEntries, plateImage, SEED_PLATE, TWO_PLATES, type Fixture } from './helpers/three-mf.ts'
import { download, filesUnder, md5, pollUntilDone, putFile, startHttpApp, withoutLinks, type HttpApp } from './helpers/uploads.ts'

const SUCCESS = { message: 'success', code: null, error: null }
const NONE = { name: null, dir: null, url: null }
const LINK = '<link>'
const meta = (name: string) => ({ name, dir: 'Metadata', url: LINK })
const NO_AUXILIARIES = { auxiliary_pictures: [], auxiliary_bom: [], auxiliary_guide: [], auxiliary_other: [] }
const CONFIGS = [meta('project_settings.config'), meta('model_settings.config'), meta('slice_info.config')]

async function user(s: HttpApp, account: string, devId: string) {
  await s.createUser(account)
  const { accessToken } = await s.login(account)
  await addDevice(s, account, devId, { dev_model_name: 'C12', dev_product_name: 'P1S' })
  return s.as(accessToken)
}

async function createProject(call: ReturnType<HttpApp['as']>, name: string) {
  const res = await call('POST', '/v1/iot-service/api/user/project', { name })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body as { project_id: string; model_id: string; profile_id: string; upload_url: string; upload_ticket: string }
}

/** Downloads every link of a context and compares it with the file the fixture put there. */
async function assertLinks(context: any, fixture: Fixture, gcode: Record<number, string>) {
  const entries = fixtureEntries(fixture)
  for (const config of context.configs) {
    const got = await download(config.url)
    assert.equal(got.status, 200, config.name)
    assert.equal(got.bytes.toString(), String(entries.get(`Metadata/${config.name}`)), config.name)
  }
  for (const plate of context.plates) {
    const thumb = await download(plate.thumbnail.url)
    assert.equal(thumb.status, 200)
    assert.equal(thumb.type, 'image/png')
    assert.ok(thumb.bytes.equals(plateImage(plate.index)), `thumbnail of plate ${plate.index}`)
    if (gcode[plate.index] === undefined) {
      assert.deepEqual(plate.gcode, NONE)
    } else {
      const got = await download(plate.gcode.url)
      assert.equal(got.status, 200)
      assert.equal(got.bytes.toString(), gcode[plate.index], `G-code of plate ${plate.index}`)
    }
  }
}

test('the whole upload sequence as Bambu Studio runs it ends in a complete project, profile and task', async (t) => {
  const s = await startHttpApp(t)
  const ada = await user(s, 'ada@example.com', 'P1S0001')
  const fixture: Fixture = { plates: TWO_PLATES, printerModel: 'Bambu Lab P1S', printerModelId: 'C12' }
  const file = buildThreeMf(fixture)

  // 1. The project, with where to put the file.
  const created = await ada('POST', '/v1/iot-service/api/user/project', { name: 'Bracket.3mf' })
  assert.equal(created.status, 200)
  assert.deepEqual(Object.keys(created.body).sort(), ['code', 'error', 'message', 'model_id', 'profile_id', 'project_id', 'upload_ticket', 'upload_url'])
  const { project_id, model_id, profile_id, upload_url, upload_ticket } = created.body
  assert.deepEqual({ ...created.body, project_id: 0, model_id: 0, profile_id: 0, upload_url: 0, upload_ticket: 0 }, { ...SUCCESS, project_id: 0, model_id: 0, profile_id: 0, upload_url: 0, upload_ticket: 0 })
  assert.match(project_id, /^\d+$/)
  assert.match(profile_id, /^\d+$/)
  assert.match(model_id, /^US[0-9a-f]{14}$/)
  assert.match(upload_ticket, /^[0-9a-f]{32}$/)
  assert.ok(upload_url.startsWith(`${s.base}/files/${project_id}/`), upload_url)
  assert.match(new URL(upload_url).search, /^\?expires=\d+&sig=[\w-]{43}$/)
  assert.ok(!upload_url.includes(upload_ticket), 'the ticket stays out of URLs (they get logged)')
  const running = await ada('GET', `/v1/iot-service/api/user/project/${project_id}`)
  assert.deepEqual([running.body.upload_url, running.body.upload_ticket, running.body.download_url, running.body.profiles[0].context], [upload_url, upload_ticket, null, {}])

  // 2. The file, as a presigned-URL client sends it: no token, no Content-Type.
  const put = await putFile(upload_url, file)
  assert.equal(put.status, 200)
  assert.equal(put.etag, `"${md5(file)}"`)

  // 3. Notify, then poll until done.
  const notified = await ada('PUT', '/v1/iot-service/api/user/notification', { upload: { origin_file_name: 'Bracket.3mf', ticket: upload_ticket } })
  assert.deepEqual([notified.status, notified.body], [200, SUCCESS])
  const done = await pollUntilDone(ada, upload_ticket)
  assert.deepEqual([done.status, done.body], [200, SUCCESS])

  // 4. Studio names the file per plate; 5.-6. then the print-ready file for plate 2.
  const first = await ada('PATCH', `/v1/iot-service/api/user/project/${project_id}`, { profile_id, profile_print_3mf: [{ md5: md5(file), plate_idx: 2, url: upload_url }] })
  assert.deepEqual([first.status, first.body], [200, SUCCESS])
  const name = `${model_id}_${profile_id}_2.3mf`
  const urls = await ada('GET', `/v1/iot-service/api/user/upload?models=${name}`)
  assert.equal(urls.status, 200)
  assert.deepEqual(withoutLinks(urls.body, s.base), { ...SUCCESS, urls: [{ type: 'models', file: name, url: LINK }], host: 'user' })
  const printUrl: string = urls.body.urls[0].url
  const gcode = ';plate 2\nG28\nG1 X10 Y10 F3000\n'.repeat(100)
  const printFile = buildThreeMf({ ...fixture, plates: [{ ...TWO_PLATES[1]!, gcode }] })
  const printPut = await putFile(printUrl, printFile, { 'content-type': 'application/octet-stream' })
  assert.deepEqual([printPut.status, printPut.etag], [200, `"${md5(printFile)}"`])
  const second = await ada('PATCH', `/v1/iot-service/api/user/project/${project_id}`, {
    profile_id,
    profile_print_3mf: [{ comments: 'no_ips', md5: md5(printFile).toUpperCase(), plate_idx: 2, url: printUrl }],
  })
  assert.deepEqual([second.status, second.body], [200, SUCCESS])

  // 7. The task, as Studio sends it: numeric profileId.
  const task = await ada('POST', '/v1/user-service/my/task', {
    deviceId: 'P1S0001',
    modelId: model_id,
    profileId: Number(profile_id),
    plateIndex: 2,
    title: 'Bracket.3mf',
    cover: '',
    mode: 'cloud_file',
  })
  assert.equal(task.status, 200)

  // What the reads show.
  const context = {
    compatibility: { dev_model_name: 'C12', dev_product_name: 'P1S', nozzle_diameter: 0.4 },
    pictures: null,
    configs: CONFIGS,
    plates: [
      { index: 1, thumbnail: meta('plate_1.png'), prediction: 1800, weight: 7.25, gcode: NONE, filaments: TWO_PLATES[0]!.filaments },
      { index: 2, thumbnail: meta('plate_2.png'), prediction: 5025, weight: 31.5, gcode: meta('plate_2.gcode'), filaments: TWO_PLATES[1]!.filaments },
    ],
    // One per distinct type and colour: `#ff6a13` PETG is the FF6A13 PETG again.
    materials: [
      { color: 'FF6A13', material: 'PETG' },
      { color: '000000', material: 'PLA' },
      { color: 'FFFFFF', material: 'PLA' },
    ],
    ...NO_AUXILIARIES,
  }
  const project = await ada('GET', `/v1/iot-service/api/user/project/${project_id}`)
  assert.equal(project.status, 200)
  const profileRow = project.body.profiles[0]
  assert.deepEqual(withoutLinks(project.body, s.base), {
    ...SUCCESS,
    project_id,
    user_id: project.body.user_id,
    model_id,
    status: 'ACTIVE',
    name: 'Bracket.3mf',
    content: null,
    create_time: project.body.create_time,
    update_time: project.body.update_time,
    profiles: [{ profile_id, model_id, status: 'ACTIVE', name: 'Bracket.3mf', content: '{}', create_time: profileRow.create_time, update_time: profileRow.update_time, context }],
    download_url: LINK,
    download_md5: md5(file),
    keystore_xml: null,
    upload_url: null,
    upload_ticket: null,
  })
  const projectFile = await download(project.body.download_url)
  assert.equal(projectFile.type, 'model/3mf')
  assert.ok(projectFile.bytes.equals(file), 'the project file downloads as uploaded')
  await assertLinks(profileRow.context, fixture, { 2: gcode })

  const profile = await ada('GET', `/v1/iot-service/api/user/profile/${profile_id}?model_id=${model_id}`)
  assert.equal(profile.status, 200)
  assert.deepEqual(withoutLinks(profile.body, s.base), {
    ...SUCCESS,
    profile_id,
    model_id,
    status: 'ACTIVE',
    name: 'Bracket.3mf',
    content: null,
    create_time: profileRow.create_time,
    update_time: profileRow.update_time,
    context,
    filename: 'Bracket.3mf',
    url: LINK,
    md5: md5(file),
    keystore_xml: null,
  })
  assert.deepEqual(profile.body.context, profileRow.context)
  assert.ok((await download(profile.body.url)).bytes.equals(file))

  const hit = await ada('GET', `/v1/user-service/my/task/${task.body.id}`)
  assert.equal(hit.status, 200)
  const plate2 = profileRow.context.plates[1]
  assert.deepEqual(
    [hit.body.modelId, hit.body.profileId, hit.body.plateIndex, hit.body.cover, hit.body.weight, hit.body.costTime, hit.body.length, hit.body.title],
    [model_id, Number(profile_id), 2, plate2.thumbnail.url, 31.5, 5025, 10540, 'Bracket.3mf'],
  )
  // Home Assistant fetches the cover without a token.
  assert.ok((await download(hit.body.cover)).bytes.equals(plateImage(2)))
  const listed = await ada('GET', '/v1/user-service/my/tasks')
  assert.deepEqual(listed.body.hits[0], hit.body)
})

test('a client that never polls, with the task made first: everything is complete once processing ends', async (t) => {
  const s = await startHttpApp(t)
  const ada = await user(s, 'ada@example.com', 'X1C0001')
  // The seed document's own plate: X1 Carbon, 0.4 mm, green PLA.
  const fixture: Fixture = { plates: [SEED_PLATE], printerModel: 'Bambu Lab X1 Carbon', printerModelId: 'BL-P001' }
  const file = buildThreeMf(fixture)
  const { project_id, model_id, profile_id, upload_url, upload_ticket } = await createProject(ada, 'Untitled')
  assert.equal((await putFile(upload_url, file)).status, 200)

  // The task comes before the notification: nothing is known of the plate yet.
  const task = await ada('POST', '/v1/user-service/my/task', { deviceId: 'X1C0001', modelId: model_id, profileId: profile_id, plateIndex: 1, title: 'Untitled' })
  assert.equal(task.status, 200)
  const early = (await ada('GET', `/v1/user-service/my/task/${task.body.id}`)).body
  assert.deepEqual([early.cover, early.weight, early.costTime, early.length], [`${s.base}/assets/task-cover.png`, 0, 0, 0])

  // The print-ready file and its PATCH, still before any processing.
  const urls = await ada('GET', `/v1/iot-service/api/user/upload?models=${model_id}_${profile_id}_1.3mf`)
  const gcode = ';plate 1\nM104 S220\n'.repeat(200)
  const printFile = buildThreeMf({ ...fixture, plates: [{ ...SEED_PLATE, gcode }] })
  assert.equal((await putFile(urls.body.urls[0].url, printFile)).status, 200)
  const patched = await ada('PATCH', `/v1/iot-service/api/user/project/${project_id}`, { profile_id, profile_print_3mf: [{ md5: md5(printFile), plate_idx: 1, url: urls.body.urls[0].url }] })
  assert.equal(patched.status, 200)
  assert.deepEqual((await ada('GET', `/v1/iot-service/api/user/profile/${profile_id}`)).body.context, {})

  const notified = await ada('PUT', '/v1/iot-service/api/user/notification', { action: 'upload', upload: { ticket: upload_ticket, origin_file_name: 'connect_config.3mf' } })
  assert.equal(notified.status, 200)
  // Never polled: wait for the background work the way a later reader would find it done.
  await s.app.services.uploads.idle()

  const profile = (await ada('GET', `/v1/iot-service/api/user/profile/${profile_id}?model_id=${model_id}`)).body
  assert.deepEqual(withoutLinks(profile.context, s.base), {
    compatibility: { dev_model_name: 'BL-P001', dev_product_name: 'X1 Carbon', nozzle_diameter: 0.4 },
    pictures: null,
    configs: CONFIGS,
    plates: [{ index: 1, thumbnail: meta('plate_1.png'), prediction: 3348, weight: 12.6, gcode: meta('plate_1.gcode'), filaments: [{ id: '1', type: 'PLA', color: '#00AE42', used_m: '4.16', used_g: '12.60' }] }],
    materials: [{ color: '00AE42', material: 'PLA' }],
    ...NO_AUXILIARIES,
  })
  assert.deepEqual([profile.filename, profile.md5], ['connect_config.3mf', md5(file)])
  await assertLinks(profile.context, fixture, { 1: gcode })

  const hit = (await ada('GET', `/v1/user-service/my/task/${task.body.id}`)).body
  assert.deepEqual([hit.cover, hit.weight, hit.costTime, hit.length], [profile.context.plates[0].thumbnail.url, 12.6, 3348, 4160])
  // A task made afterwards takes the same facts straight away.
  const later = await ada('POST', '/v1/user-service/my/task', { deviceId: 'X1C0001', modelId: model_id, profileId: Number(profile_id), plateIndex: 1, title: 'again' })
  const laterHit = (await ada('GET', `/v1/user-service/my/task/${later.body.id}`)).body
  assert.deepEqual([laterHit.cover, laterHit.weight, laterHit.costTime, laterHit.length], [hit.cover, 12.6, 3348, 4160])
  // And a poll now, late, says success.
  assert.deepEqual((await ada('GET', `/v1/iot-service/api/user/notification?action=upload&ticket=${upload_ticket}`)).body, SUCCESS)
  assert.equal(filesUnder(s.filesDir).length, 2, 'the project file and the print file')
})

test('downloads: HEAD, content types, and the files of several projects kept apart', async (t) => {
  const s = await startHttpApp(t)
  const ada = await user(s, 'ada@example.com', 'P1S0001')
  const files = []
  for (const plates of [[SEED_PLATE], TWO_PLATES]) {
    const created = await createProject(ada, `p${files.length}`)
    const file = buildThreeMf({ plates })
    assert.equal((await putFile(created.upload_url, file)).status, 200)
    await ada('PUT', '/v1/iot-service/api/user/notification', { upload: { ticket: created.upload_ticket, origin_file_name: 'x.3mf' } })
    files.push({ created, file })
  }
  await s.app.services.uploads.idle()
  for (const { created, file } of files) {
    const project = (await ada('GET', `/v1/iot-service/api/user/project/${created.project_id}`)).body
    assert.ok((await download(project.download_url)).bytes.equals(file))
    const head = await fetch(project.download_url, { method: 'HEAD' })
    assert.deepEqual([head.status, head.headers.get('content-length'), head.headers.get('content-type')], [200, String(file.length), 'model/3mf'])
    const [settings, model] = project.profiles[0].context.configs
    assert.equal((await download(settings.url)).type, 'application/json')
    assert.equal((await download(model.url)).type, 'application/xml')
  }
  assert.equal(filesUnder(s.filesDir).length, 2)
})
