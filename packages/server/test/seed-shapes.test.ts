/**
 * Every response example of the seed document (../shared/reference/cloud-http.seed-2023-12.md),
 * as field names and JSON types, checked against our answers with data behind every array.
 *
 * The notation, one descriptor per example:
 *   'string' | 'number' | 'integer' | 'boolean' | 'null' | 'object' | 'array'
 *                     a value of that JSON type ('number' takes any number, 'integer' whole
 *                     ones only; 'object' and 'array' say nothing about the contents)
 *   { field: d, ... } an object having at least these fields (more are allowed: newer
 *                     documents add fields), each as its descriptor says
 *   [d]               a non-empty array whose every item is as d says (the seed's array had
 *                     items; an empty one in the seed is written 'array')
 *   nullable(d)       null, or as d says: the seed shows null where a populated answer has d
 *   optional(d)       the field may be missing; when present, as d says
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addDevice, bearer, cookiesOf, getJson, PASSWORD, report, startTestApp, type TestApp } from './helpers/app.ts'

// ---------------------------------------------------------------------------------------
// The notation and its checker.

type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'object' | 'array'
type Shape = JsonType | Nullable | Optional | readonly [Shape] | ObjectShape
interface ObjectShape {
  readonly [field: string]: Shape
}

class Nullable {
  constructor(readonly shape: Shape) {}
}
class Optional {
  constructor(readonly shape: Shape) {}
}
const nullable = (shape: Shape) => new Nullable(shape)
const optional = (shape: Shape) => new Optional(shape)

function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

function shown(value: unknown): string {
  const text = JSON.stringify(value)
  return `${jsonTypeOf(value)} ${text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 60)}…` : text}`
}

/** Asserts that `actual` has every field of `shape` with its JSON type, recursively. */
function assertShape(actual: unknown, shape: Shape, path: string): void {
  if (shape instanceof Optional) {
    assertShape(actual, shape.shape, path)
    return
  }
  if (shape instanceof Nullable) {
    if (actual !== null) assertShape(actual, shape.shape, path)
    return
  }
  if (typeof shape === 'string') {
    const ok =
      shape === 'number'
        ? typeof actual === 'number' && Number.isFinite(actual)
        : shape === 'integer'
          ? typeof actual === 'number' && Number.isInteger(actual)
          : shape === 'object'
            ? jsonTypeOf(actual) === 'object'
            : jsonTypeOf(actual) === shape
    assert.ok(ok, `${path}: expected ${shape}, got ${shown(actual)}`)
    return
  }
  if (Array.isArray(shape)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array, got ${shown(actual)}`)
    assert.ok(actual.length > 0, `${path}: expected items (the seed's array has some), got []`)
    actual.forEach((item, i) => assertShape(item, shape[0], `${path}[${i}]`))
    return
  }
  assert.equal(jsonTypeOf(actual), 'object', `${path}: expected an object, got ${shown(actual)}`)
  const object = actual as Record<string, unknown>
  for (const [field, inner] of Object.entries(shape as ObjectShape)) {
    if (!Object.hasOwn(object, field)) {
      assert.ok(inner instanceof Optional, `${path}.${field}: missing`)
      continue
    }
    assertShape(object[field], inner, `${path}.${field}`)
  }
}

/** The object with its nullable fields as the seed shows them: null. */
const asNull = (shape: ObjectShape): ObjectShape =>
  Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, v instanceof Nullable ? 'null' : v]))
/** The object with its nullable fields populated. */
const asSet = (shape: ObjectShape): ObjectShape =>
  Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, v instanceof Nullable ? v.shape : v]))

// ---------------------------------------------------------------------------------------
// The seed's examples.

/** POST /api/sign-in/form (tokens come as the `token` and `refreshToken` cookies). */
const SIGN_IN_FORM: ObjectShape = { tfaKey: 'string' }

/** "Responses": the iot-service success envelope... */
const IOT_SUCCESS: ObjectShape = { message: 'string', code: 'null', error: 'null' }
/** ...and the error envelope ("message ... may be missing", `code` an integer on error). */
const ERROR_ENVELOPE: ObjectShape = { message: optional('string'), code: 'integer', error: 'string' }

/** GET /v1/user-service/my/messages */
const MY_MESSAGES: ObjectShape = {
  hits: [
    {
      id: 'integer',
      type: 'integer',
      design: 'null',
      comment: 'null',
      taskMessage: { id: 'integer', title: 'string', cover: 'string', status: 'integer', deviceId: 'string' },
      from: {
        uid: 'integer',
        name: 'string',
        avatar: 'string',
        fanCount: 'integer',
        followCount: 'integer',
        likeCount: 'integer',
        isFollowed: 'boolean',
      },
      createTime: 'string',
    },
  ],
}

/** GET /v1/user-service/my/tasks */
const MY_TASKS: ObjectShape = {
  total: 'integer',
  hits: [
    {
      id: 'integer',
      designId: 'integer',
      modelId: 'string',
      title: 'string',
      cover: 'string',
      status: 'integer',
      feedbackStatus: 'integer',
      startTime: 'string',
      endTime: 'string',
      weight: 'number',
      costTime: 'integer',
      profileId: 'integer',
      plateIndex: 'integer',
      deviceId: 'string',
      amsDetailMapping: 'array',
      mode: 'string',
    },
  ],
}

/** POST /v1/user-service/user/refreshtoken */
const REFRESH_TOKEN: ObjectShape = { accessToken: 'string', refreshToken: 'string', expiresIn: 'integer', refreshExpiresIn: 'integer' }

/** GET /v1/iot-service/api/slicer/resource */
const RESOURCE: ObjectShape = { type: 'string', version: 'string', description: 'string', url: 'string', force_update: 'boolean' }
const SLICER_RESOURCE: ObjectShape = {
  ...IOT_SUCCESS,
  software: { ...RESOURCE, type: 'null' },
  guide: 'null',
  resources: [RESOURCE],
}

/** GET /v1/iot-service/api/slicer/setting?version=... */
const SETTING_ENTRY: ObjectShape = { setting_id: 'string', version: 'string', name: 'string', nickname: nullable('string'), filament_id: nullable('string') }
const SLICER_SETTINGS: ObjectShape = {
  ...IOT_SUCCESS,
  print: { public: [SETTING_ENTRY], private: 'array' },
  printer: { public: [SETTING_ENTRY], private: 'array' },
  // Public filaments name their filament; the user's own showed null.
  filament: { public: [{ ...SETTING_ENTRY, filament_id: 'string' }], private: [SETTING_ENTRY] },
}

/** GET /v1/iot-service/api/slicer/setting/{SETTING_ID} (`setting` is the stored preset, carried as is). */
const SLICER_SETTING: ObjectShape = {
  ...IOT_SUCCESS,
  public: 'boolean',
  version: 'string',
  type: 'string',
  name: 'string',
  nickname: nullable('string'),
  base_id: nullable('string'),
  setting: {
    from: 'string',
    name: 'string',
    type: 'string',
    version: 'string',
    inherits: 'string',
    model_id: ['string'],
    wipe_tower_no_sparse_layers: 'string',
    support_base_pattern_spacing: 'string',
    support_interface_top_layers: 'string',
    compatible_printers_condition: 'string',
    support_interface_loop_pattern: 'string',
    support_interface_bottom_layers: 'string',
    internal_solid_infill_line_width: 'string',
  },
  filament_id: nullable('string'),
}

/** GET /v1/iot-service/api/user/bind */
const USER_BIND: ObjectShape = {
  ...IOT_SUCCESS,
  devices: [
    {
      dev_id: 'string',
      name: 'string',
      online: 'boolean',
      print_status: 'string',
      dev_model_name: 'string',
      dev_product_name: 'string',
      dev_access_code: 'string',
    },
  ],
}

/** PATCH /v1/iot-service/api/user/device/info */
const DEVICE_INFO: ObjectShape = { ...IOT_SUCCESS }

/** GET /v1/iot-service/api/user/device/version?dev_id=... */
const DEVICE_VERSION: ObjectShape = {
  ...IOT_SUCCESS,
  devices: [
    {
      dev_id: 'string',
      version: 'string',
      firmware: [{ version: 'string', force_update: 'boolean', url: 'string', description: 'string' }],
      ams: 'array',
    },
  ],
}

/** GET /v1/iot-service/api/user/print: one device; the seed's is idle, every task field null. */
const PRINT_DEVICE: ObjectShape = {
  dev_id: 'string',
  dev_name: 'string',
  dev_model_name: 'string',
  dev_product_name: 'string',
  dev_online: 'boolean',
  dev_access_code: 'string',
  task_id: nullable('string'),
  task_name: nullable('string'),
  task_status: nullable('string'),
  model_id: nullable('string'),
  project_id: nullable('string'),
  profile_id: nullable('string'),
  start_time: nullable('string'),
  prediction: nullable('integer'),
  progress: nullable('integer'),
  thumbnail: nullable('string'),
}
const USER_PRINT: ObjectShape = { ...IOT_SUCCESS, devices: [PRINT_DEVICE] }

/** A profile's `context`, as both profile examples show it. */
const FILE: ObjectShape = { name: 'string', dir: 'string', url: 'string' }
const PROFILE_CONTEXT: ObjectShape = {
  compatibility: { dev_model_name: 'string', dev_product_name: 'string', nozzle_diameter: 'number' },
  pictures: 'null',
  configs: [FILE],
  plates: [
    {
      index: 'integer',
      thumbnail: FILE,
      prediction: 'integer',
      weight: 'number',
      gcode: { name: nullable('string'), dir: nullable('string'), url: nullable('string') },
      filaments: [{ id: 'string', type: 'string', color: 'string', used_m: 'string', used_g: 'string' }],
    },
  ],
  materials: [{ color: 'string', material: 'string' }],
  auxiliary_pictures: 'array',
  auxiliary_bom: 'array',
  auxiliary_guide: 'array',
  auxiliary_other: 'array',
}

/** GET /v1/iot-service/api/user/profile/{PROFILE_ID}?model_id=... */
const USER_PROFILE: ObjectShape = {
  ...IOT_SUCCESS,
  profile_id: 'string',
  model_id: 'string',
  status: 'string',
  name: 'string',
  content: nullable('string'),
  create_time: 'string',
  update_time: 'string',
  context: PROFILE_CONTEXT,
  filename: 'string',
  url: 'string',
  md5: 'string',
  keystore_xml: nullable('string'),
}

/** GET /v1/iot-service/api/user/project (the seed's `content` string is JSON null when there is none: clients parse it as null). */
const USER_PROJECTS: ObjectShape = {
  ...IOT_SUCCESS,
  projects: [
    {
      project_id: 'string',
      user_id: 'string',
      model_id: 'string',
      status: 'string',
      name: 'string',
      content: nullable('string'),
      create_time: 'string',
      update_time: 'string',
    },
  ],
}

/** GET /v1/iot-service/api/user/project/{PROJECT_ID} */
const USER_PROJECT: ObjectShape = {
  ...IOT_SUCCESS,
  project_id: 'string',
  user_id: 'string',
  model_id: 'string',
  status: 'string',
  name: 'string',
  content: nullable('string'),
  create_time: 'string',
  update_time: 'string',
  profiles: [
    {
      profile_id: 'string',
      model_id: 'string',
      status: 'string',
      name: 'string',
      content: 'string',
      create_time: 'string',
      update_time: 'string',
      context: PROFILE_CONTEXT,
    },
  ],
  download_url: nullable('string'),
  download_md5: nullable('string'),
  keystore_xml: nullable('string'),
  upload_url: nullable('string'),
  upload_ticket: nullable('string'),
}

/** GET /v1/iot-service/api/user/task/{TASK_ID}: the seed shows the 403 answer; its envelope. */
const USER_TASK_FORBIDDEN: ObjectShape = { message: 'string', code: 'integer', error: 'string' }
/**
 * The rest of that body, every field null there. For the caller's own task (which the seed
 * never got) the fields are the same; those naming the task are filled in.
 */
const USER_TASK: ObjectShape = {
  ...IOT_SUCCESS,
  parent: 'null',
  model_id: nullable('string'),
  project_id: nullable('string'),
  profile_id: nullable('string'),
  status: nullable('integer'),
  name: nullable('string'),
  content: 'null',
  context: 'null',
  create_time: nullable('string'),
  update_time: nullable('string'),
  sub_task: 'null',
  subtask: 'null',
  est: 'null',
  url: 'null',
  md5: 'null',
}

/** POST /v1/iot-service/api/user/ttcode */
const USER_TTCODE: ObjectShape = { ...IOT_SUCCESS, ttcode: 'string', passwd: 'string', authkey: 'string' }

// ---------------------------------------------------------------------------------------
// The checker checks.

test('assertShape: types, nesting, nullable, optional, non-empty arrays; extra fields pass', () => {
  const shape: ObjectShape = {
    s: 'string',
    n: 'number',
    i: 'integer',
    b: 'boolean',
    z: 'null',
    o: 'object',
    a: 'array',
    maybe: nullable('integer'),
    absent: optional('string'),
    nested: { list: [{ id: 'integer' }] },
  }
  const good = { s: 'x', n: 1.5, i: 2, b: false, z: null, o: {}, a: [], maybe: null, nested: { list: [{ id: 1, more: 'x' }] }, extra: true }
  assertShape(good, shape, 'good')
  assertShape({ ...good, n: 3, maybe: 7, absent: 'here' }, shape, 'good')
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['string as number', { ...good, s: 1 }, /good\.s: expected string, got integer 1/],
    ['number as string', { ...good, n: '1.5' }, /good\.n: expected number/],
    ['integer with a fraction', { ...good, i: 2.5 }, /good\.i: expected integer, got number 2\.5/],
    ['integer as string', { ...good, i: '2' }, /good\.i: expected integer/],
    ['boolean as 0', { ...good, b: 0 }, /good\.b: expected boolean/],
    ['null filled', { ...good, z: 'x' }, /good\.z: expected null/],
    ['object as array', { ...good, o: [] }, /good\.o: expected object, got array/],
    ['object as null', { ...good, o: null }, /good\.o: expected object, got null/],
    ['array as object', { ...good, a: {} }, /good\.a: expected array/],
    ['nullable of the wrong type', { ...good, maybe: '7' }, /good\.maybe: expected integer/],
    ['optional of the wrong type', { ...good, absent: 1 }, /good\.absent: expected string/],
    ['missing field', (({ s: _, ...rest }) => rest)(good), /good\.s: missing/],
    ['empty array', { ...good, nested: { list: [] } }, /good\.nested\.list: expected items/],
    ['not an array', { ...good, nested: { list: {} } }, /good\.nested\.list: expected an array/],
    ['a bad later item', { ...good, nested: { list: [{ id: 1 }, { id: '2' }] } }, /good\.nested\.list\[1\]\.id: expected integer/],
    ['an item missing a field', { ...good, nested: { list: [{}] } }, /good\.nested\.list\[0\]\.id: missing/],
  ]
  for (const [what, value, message] of bad) assert.throws(() => assertShape(value, shape, 'good'), message, what)
  assert.throws(() => assertShape([], shape, 'top'), /top: expected an object, got array/)
  assert.deepEqual(asNull({ a: nullable('string'), b: 'integer' }), { a: 'null', b: 'integer' })
  assert.deepEqual(asSet({ a: nullable('string'), b: 'integer' }), { a: 'string', b: 'integer' })
})

// ---------------------------------------------------------------------------------------
// A world where every example has data behind it.

const OWNER = 'owner@example.com'
const OTHER = 'other@example.com'
const BUSY = '00M00A280102436'
const IDLE = '00M00A280102437'
const VERSION = '01.03.00.13'
const T0 = Date.UTC(2024, 2, 5, 7, 8, 9)

/** A profile context with our own values, laid out as the seed's. */
function profileContext() {
  const file = (name: string) => ({ name, dir: 'Metadata', url: `https://files.example.org/m/${name}` })
  return {
    compatibility: { dev_model_name: 'BL-P001', dev_product_name: 'X1 Carbon', nozzle_diameter: 0.4 },
    pictures: null,
    configs: [file('project_settings.config'), file('model_settings.config'), file('slice_info.config')],
    plates: [
      {
        index: 1,
        thumbnail: file('plate_1.png'),
        prediction: 2400,
        weight: 9.8,
        gcode: { name: null, dir: null, url: null },
        filaments: [{ id: '1', type: 'PETG', color: '#FF6A13', used_m: '3.27', used_g: '9.80' }],
      },
      {
        index: 2,
        thumbnail: file('plate_2.png'),
        prediction: 600,
        weight: 2,
        gcode: { name: 'plate_2.gcode', dir: 'Metadata', url: 'https://files.example.org/m/plate_2.gcode' },
        filaments: [
          { id: '1', type: 'PETG', color: '#FF6A13', used_m: '0.4', used_g: '1.20' },
          { id: '2', type: 'PLA', color: '#FFFFFF', used_m: '0.27', used_g: '0.80' },
        ],
      },
    ],
    materials: [
      { color: 'FF6A13', material: 'PETG' },
      { color: 'FFFFFF', material: 'PLA' },
    ],
    auxiliary_pictures: [],
    auxiliary_bom: [],
    auxiliary_guide: [],
    auxiliary_other: [],
  }
}

/** A process preset's content, with the keys the seed shows. */
const PROCESS_SETTING = {
  from: 'system',
  name: '0.16mm Optimal @BBL X1C',
  type: 'process',
  version: VERSION,
  inherits: 'fdm_process_bbl_0.16',
  model_id: ['BL-P001', 'BL-P002'],
  wipe_tower_no_sparse_layers: '0',
  support_base_pattern_spacing: '2.5',
  support_interface_top_layers: '2',
  compatible_printers_condition: '',
  support_interface_loop_pattern: '0',
  support_interface_bottom_layers: '2',
  internal_solid_infill_line_width: '0.42',
}

function created(res: { statusCode: number; body: string; json(): unknown }, status = 201) {
  assert.equal(res.statusCode, status, res.body)
  return res.json() as Record<string, unknown>
}

async function world(t: Parameters<typeof startTestApp>[0]) {
  const s = await startTestApp(t)
  s.clock.ms = T0
  const { uid } = await s.createUser(OWNER, { name: 'Ada' })
  await s.createUser(OTHER)
  const token = (await s.login(OWNER)).accessToken
  const otherToken = (await s.login(OTHER)).accessToken
  const as = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: Record<string, unknown>, who = token) =>
    s.request({ method, url, headers: bearer(who), ...(payload ? { payload } : {}) })

  // Firmware for the model, and two printers: one will print, one stays idle.
  for (const version of ['01.01.00.00', '01.01.01.00']) {
    created(await s.admin({ method: 'POST', url: '/admin/v1/firmware', payload: { dev_model_name: 'BL-P001', version, url: `https://fw.example.org/${version}.sig`, description: `notes ${version}`, force_update: false } }))
  }
  await addDevice(s, OWNER, BUSY, { firmware_version: '01.01.01.00' })
  await addDevice(s, OWNER, IDLE, { firmware_version: '01.01.00.00', name: 'Spare' })
  assert.equal((await s.admin({ method: 'POST', url: `/admin/v1/devices/${BUSY}/online`, payload: { online: true } })).statusCode, 204)

  // A project with a profile as the seed shows one.
  const project = await s.app.services.projects.createProject(uid, { name: 'Untitled' })
  s.clock.advance(5_000)
  const profile = await s.app.services.projects.addProfile(project.project_id, {
    name: 'Untitled',
    context: profileContext(),
    filename: 'untitled.3mf',
    url: 'https://files.example.org/p/untitled.3mf',
    md5: '0cc175b9c0f1b6a831c399e269772661',
  })

  // A finished LAN print (a task and a type-6 message), then a cloud print still running.
  await report(s, BUSY, { gcode_state: 'RUNNING', subtask_name: 'Bracket', gcode_start_time: '1709622489', mc_percent: 3, mc_remaining_time: 40 })
  s.clock.advance(60_000)
  await report(s, BUSY, { gcode_state: 'FINISH', mc_percent: 100, mc_remaining_time: 0 })
  const task = created(
    await as('POST', '/v1/user-service/my/task', { deviceId: BUSY, title: 'Untitled', modelId: project.model_id, profileId: String(profile.profile_id), plateIndex: 1, projectId: String(project.project_id) }),
    200,
  )
  await report(s, BUSY, {
    gcode_state: 'RUNNING',
    task_id: String(task.id),
    subtask_name: 'Untitled',
    project_id: String(project.project_id),
    profile_id: String(profile.profile_id),
    gcode_start_time: '1709622600',
    mc_percent: 42,
    mc_remaining_time: 25,
  })

  // Slicer downloads and presets: public ones of each type, and the user's own filament.
  created(await s.admin({ method: 'POST', url: '/admin/v1/slicer/resources', payload: { type: 'software', version: '01.03.00.25', url: 'https://dl.example.org/studio.exe', description: 'fixes' } }))
  created(await s.admin({ method: 'POST', url: '/admin/v1/slicer/resources', payload: { type: 'slicer/plugins/cloud', version: '01.01.00.11', url: 'https://dl.example.org/plugin.zip' } }))
  const publish = async (body: Record<string, unknown>) =>
    (created(await s.admin({ method: 'POST', url: '/admin/v1/slicer/settings', payload: { version: VERSION, ...body } }))).setting_id as string
  const processId = await publish({ type: 'print', setting_id: 'GP004', name: PROCESS_SETTING.name, setting: PROCESS_SETTING })
  await publish({ type: 'print', setting_id: 'GP001', name: '0.08mm Extra Fine @BBL X1C', setting: {} })
  await publish({ type: 'printer', setting_id: 'GM001', name: 'Bambu Lab X1 Carbon 0.4 nozzle', setting: {} })
  await publish({ type: 'filament', setting_id: 'GFSB98', name: 'Generic ASA', filament_id: 'GFB98', setting: {} })
  await publish({ type: 'filament', setting_id: 'GFSC99', name: 'Generic PC', filament_id: 'GFC99', setting: {} })
  created(
    await as('POST', '/v1/iot-service/api/slicer/setting', { name: 'PolyLite ASA', type: 'filament', version: '1.3.0.13', base_id: 'GFSB98', filament_id: '', setting: { inherits: 'Generic ASA' } }),
    200,
  )

  return { s, token, otherToken, as, project, profile, taskId: Number(task.id), processId }
}

// ---------------------------------------------------------------------------------------
// Each example against our answer.

test('every seed response example: our answer has its fields with its JSON types', async (t) => {
  const w = await world(t)
  const { s, token, as } = w
  const check = async (name: string, fn: () => Promise<void>) => {
    await t.test(name, fn)
  }

  await check('POST /api/sign-in/form', async () => {
    const res = await s.request({ method: 'POST', url: '/api/sign-in/form', payload: { account: OWNER, password: PASSWORD, apiError: '' } })
    assert.equal(res.statusCode, 200, res.body)
    assertShape(res.json(), SIGN_IN_FORM, 'sign-in/form')
    const cookies = cookiesOf(res)
    for (const name of ['token', 'refreshToken']) assert.ok((cookies[name]?.value ?? '') !== '', `cookie ${name}`)
  })

  await check('the iot envelope: success and error answers', async () => {
    const ok = await as('PATCH', '/v1/iot-service/api/user/device/info', { dev_id: IDLE, dev_name: 'Spare' })
    assert.equal(ok.statusCode, 200, ok.body)
    assertShape(ok.json(), IOT_SUCCESS, 'envelope(success)')
    assert.equal(ok.json().message, 'success')
    const errors = [
      await s.request({ method: 'GET', url: '/v1/iot-service/api/user/bind' }),
      await as('GET', `/v1/iot-service/api/user/device/version?dev_id=${BUSY}`, undefined, w.otherToken),
      await as('POST', '/v1/iot-service/api/user/ttcode', { dev_id: BUSY }, w.otherToken),
      await as('GET', '/v1/iot-service/api/slicer/setting'),
      await as('GET', '/v1/iot-service/api/slicer/setting/PFUSdoesnotexist'),
    ]
    assert.deepEqual(errors.map((r) => r.statusCode), [401, 403, 403, 400, 400])
    errors.forEach((r, i) => assertShape(r.json(), ERROR_ENVELOPE, `envelope(error #${i})`))
  })

  await check('GET /v1/user-service/my/messages', async () => {
    const body = await getJson(s, token, '/v1/user-service/my/messages')
    assertShape(body, MY_MESSAGES, 'my/messages')
    assert.equal(body.hits[0].type, 6)
  })

  await check('GET /v1/user-service/my/tasks', async () => {
    const body = await getJson(s, token, '/v1/user-service/my/tasks')
    assertShape(body, MY_TASKS, 'my/tasks')
    // The finished LAN print and the running cloud print are both checked.
    assert.deepEqual(body.hits.map((h: { mode: string; status: number }) => [h.mode, h.status]), [['cloud_file', 4], ['lan_file', 2]])
  })

  await check('POST /v1/user-service/user/refreshtoken', async () => {
    const { refreshToken } = await s.login(OWNER)
    const res = await s.request({ method: 'POST', url: '/v1/user-service/user/refreshtoken', payload: { refreshToken } })
    assert.equal(res.statusCode, 200, res.body)
    assertShape(res.json(), REFRESH_TOKEN, 'user/refreshtoken')
  })

  await check('GET /v1/iot-service/api/slicer/resource', async () => {
    const body = await getJson(s, token, '/v1/iot-service/api/slicer/resource')
    assertShape(body, SLICER_RESOURCE, 'slicer/resource')
  })

  await check('GET /v1/iot-service/api/slicer/setting?version=', async () => {
    const body = await getJson(s, token, `/v1/iot-service/api/slicer/setting?version=${VERSION}`)
    assertShape(body, SLICER_SETTINGS, 'slicer/setting')
  })

  await check('GET /v1/iot-service/api/slicer/setting/{id}', async () => {
    const body = await getJson(s, token, `/v1/iot-service/api/slicer/setting/${w.processId}`)
    assertShape(body, SLICER_SETTING, 'slicer/setting/{id}')
  })

  await check('GET /v1/iot-service/api/user/bind', async () => {
    const body = await getJson(s, token, '/v1/iot-service/api/user/bind')
    assertShape(body, USER_BIND, 'user/bind')
    assert.equal(body.devices.length, 2)
  })

  await check('PATCH /v1/iot-service/api/user/device/info', async () => {
    const res = await as('PATCH', '/v1/iot-service/api/user/device/info', { dev_id: BUSY, dev_name: '3DP-00M-000' })
    assert.equal(res.statusCode, 200, res.body)
    assertShape(res.json(), DEVICE_INFO, 'user/device/info')
  })

  await check('GET /v1/iot-service/api/user/device/version?dev_id=', async () => {
    const body = await getJson(s, token, `/v1/iot-service/api/user/device/version?dev_id=${BUSY}`)
    assertShape(body, DEVICE_VERSION, 'user/device/version')
    assert.equal(body.devices[0].firmware.length, 2)
  })

  await check('GET /v1/iot-service/api/user/print: idle as the seed, and mid-print', async () => {
    const body = await getJson(s, token, '/v1/iot-service/api/user/print?force=true')
    assertShape(body, USER_PRINT, 'user/print')
    const byId = (id: string) => body.devices.find((d: { dev_id: string }) => d.dev_id === id)
    assertShape(byId(IDLE), asNull(PRINT_DEVICE), 'user/print(idle)')
    assertShape(byId(BUSY), asSet(PRINT_DEVICE), 'user/print(running)')
    assert.deepEqual([byId(BUSY).task_id, byId(BUSY).task_status, byId(BUSY).progress], [String(w.taskId), 'RUNNING', 42])
  })

  await check('GET /v1/iot-service/api/user/profile/{id}?model_id=', async () => {
    const body = await getJson(s, token, `/v1/iot-service/api/user/profile/${w.profile.profile_id}?model_id=${w.project.model_id}`)
    assertShape(body, USER_PROFILE, 'user/profile/{id}')
    assert.equal(body.context.plates.length, 2)
  })

  await check('GET /v1/iot-service/api/user/project', async () => {
    const body = await getJson(s, token, '/v1/iot-service/api/user/project')
    assertShape(body, USER_PROJECTS, 'user/project')
  })

  await check('GET /v1/iot-service/api/user/project/{id}', async () => {
    const body = await getJson(s, token, `/v1/iot-service/api/user/project/${w.project.project_id}`)
    assertShape(body, USER_PROJECT, 'user/project/{id}')
  })

  await check('GET /v1/iot-service/api/user/task/{id}: 403 for another user’s task, and the owner’s', async () => {
    const forbidden = await as('GET', `/v1/iot-service/api/user/task/${w.taskId}`, undefined, w.otherToken)
    assert.equal(forbidden.statusCode, 403, forbidden.body)
    assertShape(forbidden.json(), USER_TASK_FORBIDDEN, 'user/task/{id}(403)')
    const own = await getJson(s, token, `/v1/iot-service/api/user/task/${w.taskId}`)
    assertShape(own, USER_TASK, 'user/task/{id}')
    assertShape(own, asSet(USER_TASK), 'user/task/{id}(set)')
  })

  await check('POST /v1/iot-service/api/user/ttcode', async () => {
    const res = await as('POST', '/v1/iot-service/api/user/ttcode', { dev_id: BUSY })
    assert.equal(res.statusCode, 200, res.body)
    assertShape(res.json(), USER_TTCODE, 'user/ttcode')
  })
})
