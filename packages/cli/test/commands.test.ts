/**
 * The user commands against a real server, in `--json` form (exactly what the API answered)
 * and table form (without a terminal: tab-separated lines, no header, no escapes).
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { loadConfig } from '../../server/src/config.ts'
import { loadSecretsKey } from '../../server/src/data-dir.ts'
import { openDatabase } from '../../server/src/db/database.ts'
import { SecretBox } from '../../server/src/lib/secret-box.ts'
import { ProjectService } from '../../server/src/services/projects.ts'
import { ADMIN_TOKEN, plainLines, startCli, type CliHarness } from './helpers/cli.ts'

/** Ada with two printers: DEV1 printing "Gear" at 40% after a finished "Benchy"; DEV2 offline after a failed "Hinge". */
async function seeded(t: TestContext) {
  const cli = await startCli(t)
  await cli.createUser('ada@example.com')
  await cli.createUser('bob@example.com')
  const device = (dev_id: string, fields: Record<string, unknown>) =>
    cli.admin('POST', '/admin/v1/devices', { dev_id, dev_model_name: 'BL-P001', dev_product_name: 'X1 Carbon', owner: 'ada@example.com', ...fields })
  await device('DEV1', { name: 'Workshop', firmware_version: '01.07.00.00' })
  await device('DEV2', { name: 'Shelf', dev_model_name: 'C12', dev_product_name: 'P1S' })
  await device('BOB1', { name: 'Not Ada’s', owner: 'bob@example.com' })
  const report = (devId: string, print: Record<string, unknown>) => cli.admin('POST', `/admin/v1/devices/${devId}/report`, { print: { command: 'push_status', ...print } })
  await cli.admin('POST', '/admin/v1/devices/DEV1/online', { online: true })
  await report('DEV1', { gcode_state: 'RUNNING', mc_percent: 10, subtask_name: 'Benchy' })
  await report('DEV1', { gcode_state: 'FINISH', mc_percent: 100 })
  await report('DEV2', { gcode_state: 'RUNNING', mc_percent: 5, subtask_name: 'Hinge' })
  await report('DEV2', { gcode_state: 'FAILED' })
  await report('DEV1', { gcode_state: 'RUNNING', mc_percent: 40, subtask_name: 'Gear', mc_remaining_time: 75 })
  await cli.login('ada@example.com')
  const token = cli.saved().sessions[cli.baseUrl]!.accessToken
  return { cli, token, get: (route: string) => cli.api(route, token) }
}

test('devices: --json is exactly the devices array of user/bind; the table form is a line per printer', async (t) => {
  const { cli, get } = await seeded(t)
  const devices = await cli.json(['devices'])
  assert.deepEqual(devices, (await get('/v1/iot-service/api/user/bind')).devices)
  assert.deepEqual(devices.map((d: { dev_id: string }) => d.dev_id).sort(), ['DEV1', 'DEV2'])

  const lines = plainLines(await cli.ok(['devices']))
  assert.deepEqual(lines.sort(), ['DEV1\tWorkshop\tX1 Carbon\tyes\tRUNNING\t0.4', 'DEV2\tShelf\tP1S\tno\tFAILED\t0.4'])
})

test('status: --json is the devices array of user/print; the table shows state, progress, time left and task; --watch is bounded without a terminal', async (t) => {
  const { cli, get } = await seeded(t)
  const expected = (await get('/v1/iot-service/api/user/print?force=true')).devices
  assert.deepEqual(await cli.json(['status']), expected)

  assert.deepEqual(plainLines(await cli.ok(['status'])).sort(), ['DEV1\tWorkshop\tRUNNING\t40%\t1h 15m\tGear', 'DEV2\tShelf\tOFFLINE\t5%\t-\tHinge'])

  // Three snapshots as JSON Lines, then it stops by itself.
  const watched = (await cli.ok(['status', '--watch', '0.05', '--count', '3', '--json'])).split('\n').filter(Boolean)
  assert.equal(watched.length, 3)
  for (const line of watched) assert.deepEqual(JSON.parse(line), expected)
  // No --count and no terminal: one snapshot.
  assert.equal(plainLines(await cli.ok(['status', '--watch', '0.05'])).length, 2)
})

test('tasks: --json is the hits of my/tasks; --device and --limit filter; the table names each status', async (t) => {
  const { cli, get } = await seeded(t)
  const all = await cli.json(['tasks'])
  assert.deepEqual(all, (await get('/v1/user-service/my/tasks?limit=20')).hits)
  assert.deepEqual(all.map((h: { title: string }) => h.title), ['Gear', 'Hinge', 'Benchy'])

  const one = await cli.json(['tasks', '--device', 'DEV1', '--limit', '1'])
  assert.deepEqual(one, (await get('/v1/user-service/my/tasks?deviceId=DEV1&limit=1')).hits)
  assert.deepEqual(one.map((h: { title: string }) => h.title), ['Gear'])

  const lines = plainLines(await cli.ok(['tasks']))
  assert.equal(lines.length, 3)
  const rows = lines.map((l) => l.split('\t'))
  assert.deepEqual(rows.map((r) => [r[0], r[1], r[4], r[5]]), [
    [String(all[0].id), 'running', 'Workshop', 'Gear'],
    [String(all[1].id), 'failed', 'Shelf', 'Hinge'],
    [String(all[2].id), 'finished', 'Workshop', 'Benchy'],
  ])
  assert.deepEqual(rows.map((r) => r[2]), all.map((h: { startTime: string }) => h.startTime), 'exact times when not on a terminal')
  assert.equal(rows[0]![3], '-', 'a running print has no duration yet')
  assert.match(rows[2]![3]!, /^\d+s$/)
})

test('messages: --json is the hits of my/messages; the table shows the print each one is about', async (t) => {
  const { cli, get } = await seeded(t)
  const hits = await cli.json(['messages'])
  assert.deepEqual(hits, (await get('/v1/user-service/my/messages?limit=20')).hits)
  assert.equal(hits.length, 2, 'a finished and a failed print')
  const lines = plainLines(await cli.ok(['messages', '--type', '6']))
  assert.deepEqual(
    lines.map((l) => l.split('\t')).map((r) => [r[1], r[3], r[4], r[5]]),
    [
      ['6', 'failed', 'DEV2', 'Hinge'],
      ['6', 'finished', 'DEV1', 'Benchy'],
    ],
  )
  assert.deepEqual(await cli.json(['messages', '--limit', '1']), hits.slice(0, 1))
})

test('projects: --json is the projects array of user/project; the table lists id, model, time and name', async (t) => {
  const { cli, get } = await seeded(t)
  assert.deepEqual(await cli.json(['projects']), [])
  assert.deepEqual(plainLines(await cli.ok(['projects'])), [])

  // Projects have no API to create them yet: straight into the server's database.
  const database = openDatabase(cli.db.url, { poolSize: 1 })
  t.after(() => database.db.destroy())
  const config = loadConfig({ DATABASE_URL: cli.db.url, DATA_DIR: cli.db.dataDir, ADMIN_TOKEN })
  const projects = new ProjectService({ config, database, now: Date.now, log: console as unknown as FastifyBaseLogger, secrets: new SecretBox(loadSecretsKey(config)) })
  const { uid } = await get('/v1/user-service/my/profile')
  await projects.createProject(uid, { name: 'Bracket' })

  const list = await cli.json(['projects'])
  assert.deepEqual(list, (await get('/v1/iot-service/api/user/project')).projects)
  assert.equal(list.length, 1)
  const p = list[0]
  assert.deepEqual(plainLines(await cli.ok(['projects'])), [`${p.project_id}\t${p.model_id}\t${p.update_time}\tBracket`])
})

test('firmware, rename and ttcode', async (t) => {
  const { cli, get } = await seeded(t)
  await cli.admin('POST', '/admin/v1/firmware', { dev_model_name: 'BL-P001', version: '01.08.00.00', url: 'https://example.org/x1-0108.bin', description: 'newer' })
  await cli.admin('POST', '/admin/v1/firmware', { dev_model_name: 'BL-P001', version: '01.06.00.00', url: 'https://example.org/x1-0106.bin' })

  const firmware = await cli.json(['firmware', 'DEV1'])
  assert.deepEqual(firmware, (await get('/v1/iot-service/api/user/device/version?dev_id=DEV1')).devices)
  assert.equal(firmware[0].version, '01.07.00.00')
  assert.deepEqual(plainLines(await cli.ok(['firmware', 'DEV1'])), [
    'DEV1\t01.08.00.00\tnewer\tno\thttps://example.org/x1-0108.bin',
    'DEV1\t01.07.00.00\tinstalled\tno\t-',
    'DEV1\t01.06.00.00\tolder\tno\thttps://example.org/x1-0106.bin',
  ])

  const renamed = await cli.run(['rename', 'DEV1', 'Big Printer'])
  assert.equal(renamed.code, 0, renamed.stderr)
  assert.equal(renamed.stdout, '')
  assert.equal(renamed.stderr, 'Renamed DEV1 to "Big Printer".\n')
  const devices = await get('/v1/iot-service/api/user/bind')
  assert.equal(devices.devices.find((d: { dev_id: string }) => d.dev_id === 'DEV1').name, 'Big Printer')

  const codes = await cli.json(['ttcode', 'DEV1'])
  assert.deepEqual(Object.keys(codes), ['ttcode', 'passwd', 'authkey', 'region'])
  for (const value of Object.values(codes)) assert.equal(typeof value, 'string')
  assert.deepEqual(plainLines(await cli.ok(['ttcode', 'DEV1'])), [`ttcode\t${codes.ttcode}`, `passwd\t${codes.passwd}`, `authkey\t${codes.authkey}`, `region\t${codes.region}`])
})

/** Writes a JSON file beside the CLI's config directory. */
function jsonFile(cli: CliHarness, name: string, value: unknown): string {
  const file = path.join(path.dirname(cli.configHome), name)
  fs.writeFileSync(file, JSON.stringify(value))
  return file
}

test('settings: import prints the new id; list, get, export (stdout and file) and import of the export; delete', async (t) => {
  const { cli, get } = await seeded(t)
  const preset = { type: 'filament', name: 'My PETG', version: '01.10.00.89', base_id: 'GFSG99', filament_id: 'GFG99', nickname: null, setting: { nozzle_temperature: ['245'] } }
  const file = jsonFile(cli, 'petg.json', preset)

  const imported = await cli.run(['settings', 'import', file])
  assert.equal(imported.code, 0, imported.stderr)
  const id = imported.stdout.trim()
  assert.match(id, /^PFUS[0-9a-f]+$/)
  assert.equal(imported.stdout, `${id}\n`)

  const list = await cli.json(['settings', 'list', '--mine'])
  const { message: _m, code: _c, error: _e, ...groups } = await get('/v1/iot-service/api/slicer/setting?version=9999.9999.9999.9999&public=false')
  assert.deepEqual(list, groups)
  assert.deepEqual(list.filament.private.map((s: { setting_id: string }) => s.setting_id), [id])
  assert.deepEqual(Object.keys(await cli.json(['settings', 'list', '--type', 'filament'])), ['filament'])
  const row = list.filament.private[0]
  assert.deepEqual(plainLines(await cli.ok(['settings', 'list', '--mine'])), [`filament\tmine\t${id}\t01.10.00.89\t${row.update_time}\tMy PETG`])

  const full = await cli.json(['settings', 'get', id])
  const { message: _m2, code: _c2, error: _e2, ...wire } = await get(`/v1/iot-service/api/slicer/setting/${id}`)
  assert.deepEqual(full, { setting_id: id, ...wire })
  const fields = plainLines(await cli.ok(['settings', 'get', id]))
  assert.deepEqual(fields.slice(0, 5), [`setting_id\t${id}`, 'name\tMy PETG', 'type\tfilament', 'public\tno', 'version\t01.10.00.89'])

  // export: the savable part, to stdout or a file; importing it makes a copy.
  assert.deepEqual(JSON.parse(await cli.ok(['settings', 'export', id])), preset)
  const out = path.join(path.dirname(cli.configHome), 'exported.json')
  const written = await cli.run(['settings', 'export', id, '-o', out])
  assert.equal(written.code, 0, written.stderr)
  assert.equal(written.stdout, '')
  assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), preset)
  const copy = await cli.json(['settings', 'import', out, '--name', 'My PETG, copy'])
  assert.deepEqual(Object.keys(copy), ['setting_id', 'update_time'])
  assert.notEqual(copy.setting_id, id)
  assert.equal((await get(`/v1/iot-service/api/slicer/setting/${copy.setting_id}`)).name, 'My PETG, copy')

  const deleted = await cli.run(['settings', 'delete', id])
  assert.equal(deleted.code, 0, deleted.stderr)
  assert.equal(deleted.stderr, `Deleted ${id}.\n`)
  assert.deepEqual((await cli.json(['settings', 'list', '--mine'])).filament.private.map((s: { setting_id: string }) => s.setting_id), [copy.setting_id])
})
