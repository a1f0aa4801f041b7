import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../src/config.ts'
import { bearer, startTestApp, type TestApp } from './helpers/app.ts'

const URL = '/v1/iot-service/api/slicer/setting'
const OK = { message: 'success', code: null, error: null }
const FORBIDDEN = { code: 8, error: 'Resource forbidden', message: 'permission denied' }
/** 2025-12-08 16:31:48.123 UTC: update_time reads `2025-12-08 16:31:48`. */
const T0 = Date.UTC(2025, 11, 8, 16, 31, 48, 123)

async function user(s: TestApp, account: string) {
  const created = await s.createUser(account)
  const { accessToken } = await s.login(account)
  return { uid: created.uid, headers: bearer(accessToken) }
}

async function publish(s: TestApp, body: Record<string, unknown>): Promise<string> {
  const res = await s.admin({ method: 'POST', url: '/admin/v1/slicer/settings', payload: body })
  assert.equal(res.statusCode, 201, res.body)
  return res.json().setting_id
}

async function create(s: TestApp, headers: Record<string, string>, body: Record<string, unknown>) {
  const res = await s.request({ method: 'POST', url: URL, headers, payload: body })
  assert.equal(res.statusCode, 200, res.body)
  return res.json() as { setting_id: string; update_time: string }
}

const list = (s: TestApp, headers: Record<string, string>, query = 'version=01.03.00.13') =>
  s.request({ method: 'GET', url: `${URL}?${query}`, headers })

const studioFilament = (name: string) => ({
  name,
  type: 'filament',
  version: '1.3.0.13',
  base_id: 'GFSB98',
  filament_id: '',
  setting: { inherits: 'Generic ASA', nozzle_temperature: ['260'], updated_time: '1733665800' },
})

test('the catalog: public presets by type and the caller’s own, in the iot envelope, with the seed’s fields', async (t) => {
  const s = await startTestApp(t)
  s.clock.ms = T0
  await publish(s, { type: 'print', setting_id: 'GP001', name: '0.08mm Extra Fine @BBL X1C', version: '01.03.00.13', setting: {} })
  await publish(s, { type: 'printer', setting_id: 'GM001', name: 'Bambu Lab X1 Carbon 0.4 nozzle', version: '01.03.00.13', setting: {} })
  await publish(s, { type: 'filament', setting_id: 'GFSB98', name: 'Generic ASA', version: '01.03.00.13', filament_id: 'GFB98', setting: {} })
  const a = await user(s, 'a@example.com')
  s.clock.advance(2000)
  const own = await create(s, a.headers, studioFilament('PolyLite ASA'))
  const res = await list(s, a.headers)
  assert.equal(res.statusCode, 200)
  const entry = (setting_id: string, name: string, version: string, filament_id: string | null, update_time: string) => ({
    setting_id,
    version,
    name,
    nickname: null,
    filament_id,
    update_time,
  })
  assert.deepEqual(res.json(), {
    ...OK,
    print: { public: [entry('GP001', '0.08mm Extra Fine @BBL X1C', '01.03.00.13', null, '2025-12-08 16:31:48')], private: [] },
    printer: { public: [entry('GM001', 'Bambu Lab X1 Carbon 0.4 nozzle', '01.03.00.13', null, '2025-12-08 16:31:48')], private: [] },
    filament: {
      public: [entry('GFSB98', 'Generic ASA', '01.03.00.13', 'GFB98', '2025-12-08 16:31:48')],
      private: [entry(own.setting_id, 'PolyLite ASA', '1.3.0.13', null, '2025-12-08 16:31:50')],
    },
  })
  // The web host's mirror answers the same.
  const mirrored = await s.request({ method: 'GET', url: `/api${URL}?version=01.03.00.13`, headers: a.headers })
  assert.deepEqual(mirrored.json(), res.json())
})

test('public=false lists only the caller’s own presets', async (t) => {
  const s = await startTestApp(t)
  await publish(s, { type: 'filament', name: 'Generic PLA', version: '01.03.00.13', setting: {} })
  const a = await user(s, 'a@example.com')
  const own = await create(s, a.headers, studioFilament('Mine'))
  const body = (await list(s, a.headers, 'version=2.4.0.5&public=false')).json()
  assert.deepEqual(body.filament.public, [])
  assert.deepEqual(body.filament.private.map((e: { setting_id: string }) => e.setting_id), [own.setting_id])
  assert.deepEqual([body.print, body.printer], [{ public: [], private: [] }, { public: [], private: [] }])
  const both = (await list(s, a.headers, 'version=2.4.0.5&public=true')).json()
  assert.equal(both.filament.public.length, 1)
})

test('version hides public presets newer than the client, never the caller’s own', async (t) => {
  const s = await startTestApp(t)
  await publish(s, { type: 'print', setting_id: 'GP001', name: 'old', version: '01.03.00.13', setting: {} })
  await publish(s, { type: 'print', setting_id: 'GP002', name: 'new', version: '02.00.00.54', setting: {} })
  const a = await user(s, 'a@example.com')
  const own = await create(s, a.headers, { name: 'mine', type: 'print', version: '2.4.0.5', setting: {} })
  const ids = async (version: string) => {
    const body = (await list(s, a.headers, `version=${version}`)).json()
    return [body.print.public.map((e: { setting_id: string }) => e.setting_id), body.print.private.map((e: { setting_id: string }) => e.setting_id)]
  }
  assert.deepEqual(await ids('1.10.0.89'), [['GP001'], [own.setting_id]])
  assert.deepEqual(await ids('01.03.00.13'), [['GP001'], [own.setting_id]])
  assert.deepEqual(await ids('01.03.00.12'), [[], [own.setting_id]])
  assert.deepEqual(await ids('2.0.0.54'), [['GP001', 'GP002'], [own.setting_id]])
})

test('version is required (400) and must be four dot-separated numbers (422)', async (t) => {
  const s = await startTestApp(t)
  const a = await user(s, 'a@example.com')
  for (const query of ['', 'public=false', 'version=']) {
    const res = await s.request({ method: 'GET', url: `${URL}?${query}`, headers: a.headers })
    assert.equal(res.statusCode, 400, query)
    assert.deepEqual(res.json(), { code: 1000, error: 'Invalid input parameters', message: "field 'version' is not set" })
  }
  for (const version of ['1.2.3', 'abc', '1.2.3.4.5', '01.03.00.1a', '1..2.3']) {
    const res = await list(s, a.headers, `version=${encodeURIComponent(version)}`)
    assert.equal(res.statusCode, 422, version)
    assert.deepEqual(res.json(), { code: 1001, error: 'Invalid input parameters' })
  }
  for (const version of ['01.03.00.13', '1.10.0.89']) assert.equal((await list(s, a.headers, `version=${version}`)).statusCode, 200)
})

test('one preset in full: the seed’s fields and types, the setting object exactly as stored', async (t) => {
  const s = await startTestApp(t)
  s.clock.ms = T0
  const setting = {
    from: 'system',
    name: '0.12mm Fine @BBL X1C',
    type: 'process',
    version: '01.00.03.08',
    model_id: ['BL-P001', 'BL-P002'],
    wipe_tower_no_sparse_layers: '0',
    nested: { a: [1, 2.5, true, null, { b: 'c' }], empty: {} },
    unicode: 'Füllung ✓',
  }
  await publish(s, { type: 'print', setting_id: 'GP003', name: '0.12mm Fine @BBL X1C', version: '01.00.03.08', setting })
  const a = await user(s, 'a@example.com')
  const res = await s.request({ method: 'GET', url: `${URL}/GP003`, headers: a.headers })
  assert.equal(res.statusCode, 200)
  const body = res.json()
  assert.deepEqual(body, {
    ...OK,
    public: true,
    version: '01.00.03.08',
    type: 'print',
    name: '0.12mm Fine @BBL X1C',
    update_time: '2025-12-08 16:31:48',
    nickname: null,
    base_id: null,
    setting,
    filament_id: null,
  })
  assert.deepEqual(Object.keys(body.setting), Object.keys(setting), 'key order kept')
})

test('saving a preset as Studio does: a PFUS/PPUS/PMUS id and update_time; it reads back as the caller’s', async (t) => {
  const s = await startTestApp(t)
  s.clock.ms = T0
  const a = await user(s, 'a@example.com')
  // Studio sends more than the documented fields; they are accepted.
  const res = await s.request({ method: 'POST', url: URL, headers: a.headers, payload: { ...studioFilament('PolyLite ASA'), filament_id: 'GFB98', user_id: '123', updated_time: 1733665800 } })
  assert.equal(res.statusCode, 200, res.body)
  const saved = res.json()
  assert.deepEqual(Object.keys(saved).sort(), ['code', 'error', 'message', 'setting_id', 'update_time'])
  assert.equal(saved.message, 'success')
  assert.equal(saved.code, null)
  assert.equal(saved.error, null)
  assert.match(saved.setting_id, /^PFUS[0-9a-f]{14}$/)
  assert.equal(saved.update_time, '2025-12-08 16:31:48')

  const print = await create(s, a.headers, { name: 'p', type: 'print', version: '2.4.0.5', base_id: 'GP004', setting: {} })
  const printer = await create(s, a.headers, { name: 'm', type: 'printer', version: '2.4.0.5', setting: {} })
  assert.match(print.setting_id, /^PPUS[0-9a-f]{14}$/)
  assert.match(printer.setting_id, /^PMUS[0-9a-f]{14}$/)
  const again = await create(s, a.headers, studioFilament('PolyLite ASA'))
  assert.notEqual(again.setting_id, saved.setting_id, 'every save gets its own id')

  const read = (await s.request({ method: 'GET', url: `${URL}/${saved.setting_id}`, headers: a.headers })).json()
  assert.deepEqual(read, {
    ...OK,
    public: false,
    version: '1.3.0.13',
    type: 'filament',
    name: 'PolyLite ASA',
    update_time: '2025-12-08 16:31:48',
    nickname: null,
    base_id: 'GFSB98',
    setting: { inherits: 'Generic ASA', nozzle_temperature: ['260'], updated_time: '1733665800' },
    filament_id: 'GFB98',
  })
  // No base_id, or an empty filament_id, is null on the wire.
  const bare = (await s.request({ method: 'GET', url: `${URL}/${printer.setting_id}`, headers: a.headers })).json()
  assert.equal(bare.base_id, null)
  assert.equal(bare.filament_id, null)
  const row = await s.database.db.selectFrom('slicer_settings').selectAll().where('setting_id', '=', saved.setting_id).executeTakeFirstOrThrow()
  assert.equal(row.owner_uid, a.uid)
})

test('saving validates type, name, version and setting', async (t) => {
  const s = await startTestApp(t)
  const a = await user(s, 'a@example.com')
  const good = { name: 'x', type: 'filament', version: '2.4.0.5', setting: {} }
  for (const bad of [
    { ...good, type: 'material' },
    { ...good, name: '' },
    { ...good, version: '1.2' },
    { ...good, setting: ['a'] },
    { ...good, setting: 'x' },
    { name: 'x', type: 'filament', version: '2.4.0.5' },
  ]) {
    const res = await s.request({ method: 'POST', url: URL, headers: a.headers, payload: bad })
    assert.equal(res.statusCode, 400, JSON.stringify(bad))
    assert.equal(res.json().code, 1002)
  }
  const count = await s.database.db.selectFrom('slicer_settings').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  assert.equal(Number(count.n), 0)
})

test('PATCH changes the caller’s preset and moves update_time; other fields stay', async (t) => {
  const s = await startTestApp(t)
  s.clock.ms = T0
  const a = await user(s, 'a@example.com')
  const { setting_id } = await create(s, a.headers, studioFilament('Old name'))
  s.clock.advance(65_000)
  const res = await s.request({
    method: 'PATCH',
    url: `${URL}/${setting_id}`,
    headers: a.headers,
    payload: { name: 'New name', version: '2.4.0.5', type: 'filament', setting: { nozzle_temperature: ['250'] }, updated_time: '1765138658' },
  })
  assert.equal(res.statusCode, 200, res.body)
  assert.deepEqual(res.json(), { ...OK, setting_id, update_time: '2025-12-08 16:32:53' })
  const read = (await s.request({ method: 'GET', url: `${URL}/${setting_id}`, headers: a.headers })).json()
  assert.equal(read.name, 'New name')
  assert.equal(read.version, '2.4.0.5')
  assert.deepEqual(read.setting, { nozzle_temperature: ['250'] })
  assert.equal(read.base_id, 'GFSB98')
  assert.equal(read.type, 'filament')
  assert.equal(read.update_time, '2025-12-08 16:32:53')
  const bad = await s.request({ method: 'PATCH', url: `${URL}/${setting_id}`, headers: a.headers, payload: { version: 'x' } })
  assert.equal(bad.statusCode, 400)
})

test('another user can neither read, change nor delete a private preset (403, code 8)', async (t) => {
  const s = await startTestApp(t)
  const a = await user(s, 'a@example.com')
  const b = await user(s, 'b@example.com')
  const { setting_id } = await create(s, a.headers, studioFilament('A’s'))
  for (const [method, payload] of [['GET', undefined], ['PATCH', { name: 'stolen' }], ['DELETE', undefined]] as const) {
    const res = await s.request({ method, url: `${URL}/${setting_id}`, headers: b.headers, ...(payload ? { payload } : {}) })
    assert.equal(res.statusCode, 403, method)
    assert.deepEqual(res.json(), FORBIDDEN, method)
  }
  const bList = (await list(s, b.headers)).json()
  assert.deepEqual(bList.filament.private, [])
  const aRead = await s.request({ method: 'GET', url: `${URL}/${setting_id}`, headers: a.headers })
  assert.equal(aRead.statusCode, 200)
  assert.equal(aRead.json().name, 'A’s')
})

test('users cannot change or delete public presets', async (t) => {
  const s = await startTestApp(t)
  await publish(s, { type: 'print', setting_id: 'GP001', name: 'public', version: '01.03.00.13', setting: {} })
  const a = await user(s, 'a@example.com')
  for (const [method, payload] of [['PATCH', { name: 'mine now' }], ['DELETE', undefined]] as const) {
    const res = await s.request({ method, url: `${URL}/GP001`, headers: a.headers, ...(payload ? { payload } : {}) })
    assert.equal(res.statusCode, 403, method)
    assert.deepEqual(res.json(), FORBIDDEN)
  }
  const read = (await s.request({ method: 'GET', url: `${URL}/GP001`, headers: a.headers })).json()
  assert.equal(read.name, 'public')
})

test('DELETE is idempotent; a deleted preset reads back as 400 and leaves the list', async (t) => {
  const s = await startTestApp(t)
  const a = await user(s, 'a@example.com')
  const { setting_id } = await create(s, a.headers, studioFilament('Doomed'))
  for (let i = 0; i < 2; i++) {
    const res = await s.request({ method: 'DELETE', url: `${URL}/${setting_id}`, headers: a.headers })
    assert.equal(res.statusCode, 200, `delete #${i + 1}`)
    assert.deepEqual(res.json(), OK)
  }
  const read = await s.request({ method: 'GET', url: `${URL}/${setting_id}`, headers: a.headers })
  assert.equal(read.statusCode, 400)
  assert.deepEqual(read.json(), { code: 1002, error: 'Bad request', message: `setting ${setting_id} does not exist` })
  const patch = await s.request({ method: 'PATCH', url: `${URL}/${setting_id}`, headers: a.headers, payload: { name: 'back' } })
  assert.equal(patch.statusCode, 400)
  assert.deepEqual((await list(s, a.headers)).json().filament.private, [])
  // An id never seen is gone too: 400 to read, success to delete.
  assert.equal((await s.request({ method: 'GET', url: `${URL}/PFUSdoesnotexist`, headers: a.headers })).statusCode, 400)
  assert.equal((await s.request({ method: 'DELETE', url: `${URL}/PFUSdoesnotexist`, headers: a.headers })).statusCode, 200)
})

test('per-type quotas: code 14 when full; other types, other users and deletes free room', async (t) => {
  const s = await startTestApp(t, { SETTING_QUOTA_FILAMENT: '2', SETTING_QUOTA_PRINT: '1' })
  const a = await user(s, 'a@example.com')
  const b = await user(s, 'b@example.com')
  const first = await create(s, a.headers, studioFilament('one'))
  await create(s, a.headers, studioFilament('two'))
  const over = await s.request({ method: 'POST', url: URL, headers: a.headers, payload: studioFilament('three') })
  assert.equal(over.statusCode, 400)
  assert.deepEqual(over.json(), { code: 14, error: 'Preset quota exceeded', message: 'at most 2 filament presets can be kept in the cloud' })
  await create(s, a.headers, { name: 'p', type: 'print', version: '2.4.0.5', setting: {} })
  const printOver = await s.request({ method: 'POST', url: URL, headers: a.headers, payload: { name: 'p2', type: 'print', version: '2.4.0.5', setting: {} } })
  assert.equal(printOver.json().code, 14)
  await create(s, a.headers, { name: 'm', type: 'printer', version: '2.4.0.5', setting: {} })
  await create(s, b.headers, studioFilament('b’s'))
  await s.request({ method: 'DELETE', url: `${URL}/${first.setting_id}`, headers: a.headers })
  await create(s, a.headers, studioFilament('three'))
  const live = (await list(s, a.headers)).json().filament.private.map((e: { name: string }) => e.name)
  assert.deepEqual(live.sort(), ['three', 'two'])
})

test('the admin publishes public presets: made-up ids per type, or its own; 409 on a taken id', async (t) => {
  const s = await startTestApp(t)
  assert.match(await publish(s, { type: 'print', name: 'p', version: '01.03.00.13', setting: {} }), /^GP[0-9a-f]{12}$/)
  assert.match(await publish(s, { type: 'printer', name: 'm', version: '01.03.00.13', setting: {} }), /^GM[0-9a-f]{12}$/)
  assert.match(await publish(s, { type: 'filament', name: 'f', version: '01.03.00.13', setting: {} }), /^GFS[0-9a-f]{12}$/)
  assert.equal(await publish(s, { type: 'filament', setting_id: 'GFSB98', name: 'Generic ASA', nickname: 'ASA', base_id: 'GFSB99', filament_id: 'GFB98', version: '01.03.00.13', setting: { a: 1 } }), 'GFSB98')
  const dup = await s.admin({ method: 'POST', url: '/admin/v1/slicer/settings', payload: { type: 'print', setting_id: 'GFSB98', name: 'x', version: '01.03.00.13', setting: {} } })
  assert.equal(dup.statusCode, 409)
  assert.equal(dup.json().code, 1006)
  for (const bad of [
    { type: 'print', name: 'x', version: '1.2', setting: {} },
    { type: 'print', name: 'x', version: '01.03.00.13', setting: {}, setting_id: 'a/b' },
    { type: 'print', name: 'x', version: '01.03.00.13', setting: {}, owner: 1 },
  ]) {
    assert.equal((await s.admin({ method: 'POST', url: '/admin/v1/slicer/settings', payload: bad })).statusCode, 400, JSON.stringify(bad))
  }
  // Every user reads it.
  for (const account of ['a@example.com', 'b@example.com']) {
    const u = await user(s, account)
    const res = await s.request({ method: 'GET', url: `${URL}/GFSB98`, headers: u.headers })
    assert.equal(res.statusCode, 200)
    const body = res.json()
    assert.deepEqual([body.public, body.nickname, body.base_id, body.filament_id, body.setting], [true, 'ASA', 'GFSB99', 'GFB98', { a: 1 }])
  }
})

test('a user’s own id cannot be taken by the admin, and deleting a user removes their presets', async (t) => {
  const s = await startTestApp(t)
  const a = await user(s, 'a@example.com')
  const { setting_id } = await create(s, a.headers, studioFilament('mine'))
  const taken = await s.admin({ method: 'POST', url: '/admin/v1/slicer/settings', payload: { type: 'filament', setting_id, name: 'x', version: '01.03.00.13', setting: {} } })
  assert.equal(taken.statusCode, 409)
  assert.equal((await s.admin({ method: 'DELETE', url: `/admin/v1/users/${a.uid}` })).statusCode, 204)
  const rows = await s.database.db.selectFrom('slicer_settings').select('setting_id').execute()
  assert.deepEqual(rows, [])
})

test('SETTING_QUOTA_* default to 100, 100 and 500 and are validated', () => {
  assert.deepEqual(loadConfig({}).settingQuotas, { print: 100, printer: 100, filament: 500 })
  assert.deepEqual(loadConfig({ SETTING_QUOTA_PRINT: '5', SETTING_QUOTA_PRINTER: '0', SETTING_QUOTA_FILAMENT: '7' }).settingQuotas, { print: 5, printer: 0, filament: 7 })
  for (const [name, value] of [['SETTING_QUOTA_PRINT', 'many'], ['SETTING_QUOTA_PRINTER', '-1'], ['SETTING_QUOTA_FILAMENT', '2000000']]) {
    assert.throws(() => loadConfig({ [name!]: value! }), (err: Error) => err instanceof ConfigError && err.message.startsWith(name!))
  }
})
