import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ADMIN_TOKEN, PASSWORD, bearer, startTestApp, type TestApp } from './helpers/app.ts'
import { createTestDatabase } from './helpers/database.ts'
import { startServer } from './helpers/process.ts'

const ROOT = path.resolve(import.meta.dirname, '../../..')
const CLI = path.join(ROOT, 'packages/server/src/import-profiles-cli.ts')
const URL = '/v1/iot-service/api/slicer/setting'
const IMPORT = '/admin/v1/slicer/profiles/import'

/**
 * A small Bambu Studio-style tree: `BBL.json` beside `BBL/`, a process chain (base,
 * abstract middle, concrete child), a filament whose id comes from its base, a machine,
 * a machine model (not a preset), and one preset whose parent is missing.
 */
function tree(): Record<string, Record<string, unknown>> {
  return {
    'BBL.json': {
      name: 'Bambulab',
      version: '01.09.00.10',
      machine_model_list: [{ name: 'Bambu Lab X1 Carbon', sub_path: 'machine/Bambu Lab X1 Carbon.json' }],
      process_list: [
        { name: 'fdm_process_common', sub_path: 'process/fdm_process_common.json' },
        { name: 'fdm_process_0.12', sub_path: 'process/fdm_process_0.12.json' },
        { name: '0.12mm Fine @BBL X1C', sub_path: 'process/0.12mm Fine @BBL X1C.json' },
        { name: 'Orphan', sub_path: 'process/Orphan.json' },
      ],
      filament_list: [
        { name: 'fdm_filament_pla', sub_path: 'filament/fdm_filament_pla.json' },
        { name: 'Bambu PLA Basic @base', sub_path: 'filament/Bambu PLA Basic @base.json' },
        { name: 'Bambu PLA Basic @BBL X1C', sub_path: 'filament/Bambu PLA Basic @BBL X1C.json' },
      ],
      machine_list: [
        { name: 'fdm_machine_common', sub_path: 'machine/fdm_machine_common.json' },
        { name: 'Bambu Lab X1 Carbon 0.4 nozzle', sub_path: 'machine/Bambu Lab X1 Carbon 0.4 nozzle.json' },
      ],
    },
    'BBL/process/fdm_process_common.json': {
      type: 'process', name: 'fdm_process_common', from: 'system', instantiation: 'false',
      layer_height: '0.2', wall_loops: '2', sparse_infill_density: '15%', compatible_printers: [],
    },
    'BBL/process/fdm_process_0.12.json': {
      type: 'process', name: 'fdm_process_0.12', inherits: 'fdm_process_common', from: 'system', instantiation: 'false',
      layer_height: '0.12', top_shell_layers: '5',
    },
    'BBL/process/0.12mm Fine @BBL X1C.json': {
      type: 'process', setting_id: 'GP004', name: '0.12mm Fine @BBL X1C', from: 'system', instantiation: 'true',
      inherits: 'fdm_process_0.12', wall_loops: '3', compatible_printers: ['Bambu Lab X1 Carbon 0.4 nozzle'],
    },
    'BBL/process/Orphan.json': {
      type: 'process', setting_id: 'GP999', name: 'Orphan', from: 'system', instantiation: 'true', inherits: 'fdm_process_gone',
    },
    'BBL/filament/fdm_filament_pla.json': {
      type: 'filament', name: 'fdm_filament_pla', from: 'system', instantiation: 'false',
      filament_type: ['PLA'], nozzle_temperature: ['220'],
    },
    'BBL/filament/Bambu PLA Basic @base.json': {
      type: 'filament', name: 'Bambu PLA Basic @base', inherits: 'fdm_filament_pla', from: 'system', filament_id: 'GFA00', instantiation: 'false',
      filament_vendor: ['Bambu Lab'],
    },
    'BBL/filament/Bambu PLA Basic @BBL X1C.json': {
      type: 'filament', setting_id: 'GFSA00', name: 'Bambu PLA Basic @BBL X1C', inherits: 'Bambu PLA Basic @base', from: 'system', instantiation: 'true',
      nozzle_temperature: ['230'],
    },
    'BBL/machine/fdm_machine_common.json': {
      type: 'machine', name: 'fdm_machine_common', from: 'system', instantiation: 'false', nozzle_diameter: ['0.4'], printer_technology: 'FFF',
    },
    'BBL/machine/Bambu Lab X1 Carbon 0.4 nozzle.json': {
      type: 'machine', setting_id: 'GM001', name: 'Bambu Lab X1 Carbon 0.4 nozzle', inherits: 'fdm_machine_common', from: 'system', instantiation: 'true',
      printer_model: 'Bambu Lab X1 Carbon',
    },
    'BBL/machine/Bambu Lab X1 Carbon.json': { type: 'machine_model', name: 'Bambu Lab X1 Carbon', model_id: 'BL-P001' },
  }
}

const FINE_RESOLVED = {
  type: 'process',
  name: '0.12mm Fine @BBL X1C',
  from: 'system',
  instantiation: 'true',
  layer_height: '0.12',
  wall_loops: '3',
  sparse_infill_density: '15%',
  compatible_printers: ['Bambu Lab X1 Carbon 0.4 nozzle'],
  top_shell_layers: '5',
  setting_id: 'GP004',
}

const ORPHAN_PROBLEM = { file: 'BBL/process/Orphan.json', message: 'inherits "fdm_process_gone", which is not in the tree' }

async function user(s: TestApp) {
  await s.createUser('a@example.com')
  return bearer((await s.login('a@example.com')).accessToken)
}

async function importTree(s: TestApp, files: Record<string, unknown>) {
  const res = await s.admin({ method: 'POST', url: IMPORT, payload: { files } })
  assert.equal(res.statusCode, 200, res.body)
  return res.json()
}

const ids = (group: { public: { setting_id: string }[] }) => group.public.map((e) => e.setting_id)

test('the admin API imports the instantiable presets of a tree, inheritance resolved, as public', async (t) => {
  const s = await startTestApp(t)
  const headers = await user(s)
  assert.deepEqual(await importTree(s, tree()), { created: 3, updated: 0, unchanged: 0, problems: [ORPHAN_PROBLEM] })
  const catalog = (await s.request({ method: 'GET', url: `${URL}?version=01.09.00.10`, headers })).json()
  assert.deepEqual([ids(catalog.print), ids(catalog.printer), ids(catalog.filament)], [['GP004'], ['GM001'], ['GFSA00']])
  assert.deepEqual(catalog.filament.public[0], {
    setting_id: 'GFSA00',
    version: '01.09.00.10',
    name: 'Bambu PLA Basic @BBL X1C',
    nickname: null,
    filament_id: 'GFA00',
    update_time: catalog.filament.public[0].update_time,
  })
  // An older client does not get presets made for a newer one.
  const older = (await s.request({ method: 'GET', url: `${URL}?version=01.09.00.09`, headers })).json()
  assert.deepEqual(ids(older.print), [])

  const fine = (await s.request({ method: 'GET', url: `${URL}/GP004`, headers })).json()
  assert.deepEqual({ ...fine, update_time: 'x' }, {
    message: 'success',
    code: null,
    error: null,
    public: true,
    version: '01.09.00.10',
    type: 'print',
    name: '0.12mm Fine @BBL X1C',
    update_time: 'x',
    nickname: null,
    base_id: null,
    setting: FINE_RESOLVED,
    filament_id: null,
  })
  const pla = (await s.request({ method: 'GET', url: `${URL}/GFSA00`, headers })).json()
  assert.deepEqual(pla.setting.nozzle_temperature, ['230'], 'the child overrides')
  assert.deepEqual([pla.setting.filament_type, pla.setting.filament_id, pla.setting.inherits], [['PLA'], 'GFA00', undefined])
  const machine = (await s.request({ method: 'GET', url: `${URL}/GM001`, headers })).json()
  assert.deepEqual([machine.type, machine.setting.printer_technology, machine.setting.printer_model], ['printer', 'FFF', 'Bambu Lab X1 Carbon'])
  const rows = await s.database.db.selectFrom('slicer_settings').select(['setting_id', 'owner_uid']).orderBy('setting_id').execute()
  assert.deepEqual(rows, [{ setting_id: 'GFSA00', owner_uid: null }, { setting_id: 'GM001', owner_uid: null }, { setting_id: 'GP004', owner_uid: null }])
})

test('re-importing updates what changed and never duplicates', async (t) => {
  const s = await startTestApp(t)
  const headers = await user(s)
  await importTree(s, tree())
  assert.deepEqual(await importTree(s, tree()), { created: 0, updated: 0, unchanged: 3, problems: [ORPHAN_PROBLEM] })
  const before = (await s.request({ method: 'GET', url: `${URL}/GP004`, headers })).json()
  s.clock.advance(60_000)
  const changed = tree()
  changed['BBL/process/fdm_process_common.json']!.sparse_infill_density = '20%'
  assert.deepEqual(await importTree(s, changed), { created: 0, updated: 1, unchanged: 2, problems: [ORPHAN_PROBLEM] })
  const after = (await s.request({ method: 'GET', url: `${URL}/GP004`, headers })).json()
  assert.equal(after.setting.sparse_infill_density, '20%')
  assert.notEqual(after.update_time, before.update_time)
  const count = await s.database.db.selectFrom('slicer_settings').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  assert.equal(Number(count.n), 3)
})

test('a tree without its index is walked; presets without a setting_id keep one id across imports', async (t) => {
  const s = await startTestApp(t)
  const headers = await user(s)
  const files: Record<string, Record<string, unknown>> = {}
  for (const [file, json] of Object.entries(tree())) {
    if (file !== 'BBL.json') files[file.replace(/^BBL\//, '')] = json
  }
  files['process/0.12mm Fine @BBL X1C.json']!.version = '01.08.00.00'
  delete files['filament/Bambu PLA Basic @BBL X1C.json']!.setting_id
  assert.deepEqual(await importTree(s, files), { created: 3, updated: 0, unchanged: 0, problems: [{ ...ORPHAN_PROBLEM, file: 'process/Orphan.json' }] })
  const catalog = (await s.request({ method: 'GET', url: `${URL}?version=01.08.00.00`, headers })).json()
  // With no version anywhere, a preset is 00.00.00.00: every client gets it.
  assert.deepEqual(catalog.print.public.map((e: { version: string }) => e.version), ['01.08.00.00'])
  assert.deepEqual(catalog.printer.public.map((e: { version: string }) => e.version), ['00.00.00.00'])
  const pla = catalog.filament.public
  assert.equal(pla.length, 1)
  assert.match(pla[0].setting_id, /^GFS[0-9a-f]{12}$/)
  assert.deepEqual(await importTree(s, files), { created: 0, updated: 0, unchanged: 3, problems: [{ ...ORPHAN_PROBLEM, file: 'process/Orphan.json' }] })
  const again = (await s.request({ method: 'GET', url: `${URL}?version=01.08.00.00`, headers })).json()
  assert.deepEqual(ids(again.filament), [pla[0].setting_id])
})

test('import problems: missing files, cycles, duplicate ids, user ids; nothing importable is 400', async (t) => {
  const s = await startTestApp(t)
  const headers = await user(s)
  const own = (await s.request({ method: 'POST', url: URL, headers, payload: { name: 'mine', type: 'filament', version: '2.4.0.5', setting: { a: 1 } } })).json()
  const files = tree()
  const index = files['BBL.json']!
  ;(index.process_list as unknown[]).push({ name: 'Missing', sub_path: 'process/Missing.json' })
  files['BBL/process/0.12mm Fine @BBL X1C.json']!.setting_id = 'GM001'
  files['BBL/filament/Bambu PLA Basic @BBL X1C.json']!.setting_id = own.setting_id
  files['BBL/process/fdm_process_common.json']!.inherits = '0.12mm Fine @BBL X1C'
  const report = await importTree(s, files)
  assert.equal(report.created, 1)
  assert.deepEqual(report.problems, [
    { file: 'BBL.json', message: 'lists process/Missing.json, which is not in the tree' },
    { file: 'BBL/process/0.12mm Fine @BBL X1C.json', message: 'inherits in a cycle through "0.12mm Fine @BBL X1C"' },
    ORPHAN_PROBLEM,
    { file: 'BBL/filament/Bambu PLA Basic @BBL X1C.json', message: `setting_id ${own.setting_id} belongs to a user's preset` },
  ])
  const mine = (await s.request({ method: 'GET', url: `${URL}/${own.setting_id}`, headers })).json()
  assert.deepEqual([mine.public, mine.name, mine.setting], [false, 'mine', { a: 1 }])

  const dupes = tree()
  dupes['BBL/process/0.12mm Fine @BBL X1C.json']!.setting_id = 'GM001'
  const dupReport = await importTree(s, dupes)
  assert.ok(dupReport.problems.some((p: { message: string }) => p.message === 'setting_id GM001 is also used by BBL/process/0.12mm Fine @BBL X1C.json'), JSON.stringify(dupReport))

  for (const files of [{}, { 'readme.json': { hello: 'world' } }]) {
    const res = await s.admin({ method: 'POST', url: IMPORT, payload: { files } })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().code, 1002)
  }
})

test('the import route takes bodies far over the general body limit', async (t) => {
  const s = await startTestApp(t)
  const files = tree()
  files['BBL/machine/fdm_machine_common.json']!.machine_start_gcode = 'G28 ; home\n'.repeat(200_000)
  const payload = JSON.stringify({ files })
  assert.ok(payload.length > 2 * s.config.bodyLimit)
  const res = await s.admin({ method: 'POST', url: IMPORT, payload, headers: { 'content-type': 'application/json' } })
  assert.equal(res.statusCode, 200, res.body.slice(0, 200))
  const elsewhere = await s.admin({ method: 'POST', url: '/admin/v1/slicer/settings', payload, headers: { 'content-type': 'application/json' } })
  assert.equal(elsewhere.statusCode, 413)
})

function writeTree(t: TestContext, files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bambu-profiles-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  for (const [file, json] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    fs.writeFileSync(path.join(dir, file), JSON.stringify(json, null, 4))
  }
  return dir
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

test('npm run import-profiles: migrates a fresh database, imports the tree, and the API serves it', async (t) => {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  const dir = writeTree(t, { ...tree(), 'BBL/filament/broken.json': 'not json' })
  fs.writeFileSync(path.join(dir, 'BBL/filament/broken.json'), '{ nope')
  const env = { DATABASE_URL: db.url, DATA_DIR: db.dataDir }
  const first = await runCli([dir], env)
  assert.equal(first.code, 0, first.stderr)
  assert.equal(first.stdout, `imported ${dir}: 3 created, 0 updated, 0 unchanged\n`)
  assert.match(first.stderr, /^skipped BBL\/filament\/broken\.json: not readable JSON/m)
  assert.match(first.stderr, /^skipped BBL\/process\/Orphan\.json: inherits "fdm_process_gone", which is not in the tree$/m)
  const again = await runCli([dir, '--json'], env)
  assert.equal(again.code, 0, again.stderr)
  const report = JSON.parse(again.stdout)
  assert.deepEqual([report.created, report.updated, report.unchanged, report.problems.length], [0, 0, 3, 2])

  const server = await startServer({ ...env, ADMIN_TOKEN })
  t.after(() => server.stop())
  const created = await fetch(server.url('/admin/v1/users'), {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ account: 'a@example.com', password: PASSWORD }),
  })
  assert.equal(created.status, 201)
  const login = await fetch(server.url('/v1/user-service/user/login'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: 'a@example.com', password: PASSWORD }) })
  const { accessToken } = (await login.json()) as { accessToken: string }
  const catalog = (await (await fetch(server.url(`${URL}?version=01.09.00.10`), { headers: bearer(accessToken) })).json()) as Record<string, { public: { setting_id: string }[] }>
  assert.deepEqual([ids(catalog.print!), ids(catalog.printer!), ids(catalog.filament!)], [['GP004'], ['GM001'], ['GFSA00']])
  const fine = (await (await fetch(server.url(`${URL}/GP004`), { headers: bearer(accessToken) })).json()) as { setting: unknown }
  assert.deepEqual(fine.setting, FINE_RESOLVED)
})

test('import-profiles fails with one line for a missing directory or a bad DATABASE_URL', async (t) => {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  const missing = await runCli([path.join(db.dataDir, 'nope')], { DATABASE_URL: db.url, DATA_DIR: db.dataDir })
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /^bambu-cloud: not a directory: .*nope\n$/)
  const usage = await runCli([], { DATABASE_URL: db.url, DATA_DIR: db.dataDir })
  assert.equal(usage.code, 1)
  assert.match(usage.stderr, /usage: npm run import-profiles -- DIR/)
  const badUrl = await runCli([db.dataDir], { DATABASE_URL: 'mysql://x', DATA_DIR: db.dataDir })
  assert.equal(badUrl.code, 1)
  assert.match(badUrl.stderr, /^bambu-cloud: configuration error: DATABASE_URL/)
  const empty = await runCli([db.dataDir], { DATABASE_URL: db.url, DATA_DIR: db.dataDir })
  assert.equal(empty.code, 1)
  assert.match(empty.stderr, /^bambu-cloud: import failed: no Bambu Studio profiles found/)
})
