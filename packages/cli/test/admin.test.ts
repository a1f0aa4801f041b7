/** `bambu-cloud admin ...` against the admin API of a real server. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { ADMIN_TOKEN, assertFails, PASSWORD, plainLines, startCli } from './helpers/cli.ts'

const TOKEN = { BAMBU_ADMIN_TOKEN: ADMIN_TOKEN }

test('admin users: create with each policy, list, get by uid or account, update, delete; --json and table forms', async (t) => {
  const cli = await startCli(t)
  const create = (account: string, policy: string) =>
    cli.json(['admin', 'users', 'create', '--account', account, '--password-env', 'NEW_PASSWORD', '--policy', policy, '--name', account.split('@')[0]!.toUpperCase()], { ...TOKEN, NEW_PASSWORD: PASSWORD })
  const ada = await create('ada@example.com', 'password')
  const bob = await create('bob@example.com', 'email_code')
  const cy = await create('cy@example.com', 'tfa')
  assert.deepEqual(Object.keys(ada).sort(), ['account', 'created_at', 'disabled', 'login_policy', 'name', 'uid'])
  assert.deepEqual([ada.login_policy, bob.login_policy, cy.login_policy], ['password', 'email_code', 'tfa'])
  assert.equal(ada.name, 'ADA')
  assert.equal(ada.tfa_secret, undefined)
  assert.match(cy.tfa_secret, /^[A-Z2-7]{32}$/)

  // The password works: ada logs in with it.
  await cli.login('ada@example.com')

  const listed = await cli.json(['admin', 'users', 'list'], TOKEN)
  assert.deepEqual(listed, (await cli.admin('GET', '/admin/v1/users')).users)
  assert.deepEqual(listed.map((u: { account: string }) => u.account).sort(), ['ada@example.com', 'bob@example.com', 'cy@example.com'])
  const lines = plainLines(await cli.ok(['admin', 'users', 'list'], TOKEN))
  assert.ok(lines.includes(`${ada.uid}\tada@example.com\tpassword\tno\t${ada.created_at}\tADA`), lines.join('\n'))
  assert.equal(lines.length, 3)

  const { tfa_secret: _secret, ...cyRecord } = cy
  assert.deepEqual(await cli.json(['admin', 'users', 'get', String(cy.uid)], TOKEN), cyRecord)
  assert.deepEqual(await cli.json(['admin', 'users', 'get', 'CY@example.com'], TOKEN), cyRecord, 'by account, any case')
  assertFails(await cli.run(['admin', 'users', 'get', 'nobody@example.com'], TOKEN), 1, 'error: no user nobody@example.com')
  assertFails(await cli.run(['admin', 'users', 'get', '999'], TOKEN), 1, 'error: Not found: no user 999 (code 1004, HTTP 404)')

  const updated = await cli.json(['admin', 'users', 'update', 'ada@example.com', '--policy', 'email_code', '--disable'], TOKEN)
  assert.equal(updated.login_policy, 'email_code')
  assert.equal(updated.disabled, true)
  // Disabling revoked ada's tokens.
  assertFails(await cli.run(['whoami']), 1, 'error: Please login. (code 4, HTTP 401); log in with `bambu-cloud login`')
  assert.equal((await cli.json(['admin', 'users', 'update', String(ada.uid), '--enable'], TOKEN)).disabled, false)
  assertFails(await cli.run(['admin', 'users', 'update', 'ada@example.com'], TOKEN), 2, 'error: nothing to change: give --name, --policy, --password-env, --disable or --enable')
  assertFails(await cli.run(['admin', 'users', 'create', '--account', 'dee@example.com'], TOKEN), 2, 'error: no password: pass --password-env VAR naming an environment variable that holds it')
  assertFails(await cli.run(['admin', 'users', 'create', '--account', 'dee@example.com', '--password-env', 'UNSET_VARIABLE'], TOKEN), 2, 'error: --password-env UNSET_VARIABLE: that environment variable is not set')

  const deleted = await cli.run(['admin', 'users', 'delete', 'bob@example.com'], TOKEN)
  assert.equal(deleted.code, 0, deleted.stderr)
  assert.equal(deleted.stderr, 'Deleted user bob@example.com.\n')
  assert.deepEqual((await cli.admin('GET', '/admin/v1/users')).users.map((u: { account: string }) => u.account).sort(), ['ada@example.com', 'cy@example.com'])

  // Fields on a terminal-less table: label<TAB>value.
  const fields = plainLines(await cli.ok(['admin', 'users', 'get', String(cy.uid)], TOKEN))
  assert.deepEqual(fields, [`uid\t${cy.uid}`, 'account\tcy@example.com', 'name\tCY', 'policy\ttfa', 'disabled\tno', `created\t${cy.created_at}`])
})

test('admin devices: add with defaults, list, get, update and unbind, online, remove', async (t) => {
  const cli = await startCli(t)
  await cli.createUser('ada@example.com')
  await cli.createUser('bob@example.com')

  const added = await cli.json(['admin', 'devices', 'add', '--dev-id', 'DEV1', '--owner', 'ada@example.com'], TOKEN)
  assert.equal(added.dev_id, 'DEV1')
  assert.equal(added.name, 'DEV1')
  assert.equal(added.dev_model_name, 'BL-P001')
  assert.equal(added.dev_product_name, 'X1 Carbon')
  assert.equal(added.owner, 'ada@example.com')
  assert.match(added.dev_access_code, /^\d{8}$/)
  const p1s = await cli.json(
    ['admin', 'devices', 'add', '--dev-id', 'DEV2', '--owner', 'bob@example.com', '--name', 'Shelf', '--model', 'C12', '--product', 'P1S', '--nozzle', '0.6', '--access-code', '12345678', '--firmware', '01.07.00.00'],
    TOKEN,
  )
  assert.deepEqual(
    [p1s.name, p1s.dev_model_name, p1s.dev_product_name, p1s.nozzle_diameter, p1s.dev_access_code, p1s.firmware_version],
    ['Shelf', 'C12', 'P1S', 0.6, '12345678', '01.07.00.00'],
  )
  assertFails(await cli.run(['admin', 'devices', 'add', '--dev-id', 'DEV2', '--owner', 'ada@example.com'], TOKEN), 1, /^error: Conflict.* \(code 1006, HTTP 409\)$/)

  const listed = await cli.json(['admin', 'devices', 'list'], TOKEN)
  assert.deepEqual(listed, (await cli.admin('GET', '/admin/v1/devices')).devices)
  assert.deepEqual(plainLines(await cli.ok(['admin', 'devices', 'list'], TOKEN)).sort(), ['DEV1\tada@example.com\tX1 Carbon\tno\tIDLE\tDEV1', 'DEV2\tbob@example.com\tP1S\tno\tIDLE\tShelf'])
  assert.deepEqual(await cli.json(['admin', 'devices', 'get', 'DEV2'], TOKEN), await cli.admin('GET', '/admin/v1/devices/DEV2'))

  const online = await cli.run(['admin', 'devices', 'online', 'DEV1', 'online'], TOKEN)
  assert.equal(online.code, 0, online.stderr)
  assert.equal((await cli.admin('GET', '/admin/v1/devices/DEV1')).online, true)
  assertFails(await cli.run(['admin', 'devices', 'online', 'DEV1', 'maybe'], TOKEN), 2, /^error: command-argument value 'maybe' is invalid for argument 'state'/)

  assertFails(await cli.run(['admin', 'devices', 'update', 'DEV1', '--owner', 'bob@example.com'], TOKEN), 1, 'error: Conflict: device DEV1 is bound to a user (code 1006, HTTP 409)')
  const unbound = await cli.json(['admin', 'devices', 'update', 'DEV1', '--unbind'], TOKEN)
  assert.equal(unbound.owner, null)
  const moved = await cli.json(['admin', 'devices', 'update', 'DEV1', '--owner', 'bob@example.com', '--name', 'Moved'], TOKEN)
  assert.deepEqual([moved.owner, moved.name], ['bob@example.com', 'Moved'])
  assertFails(await cli.run(['admin', 'devices', 'update', 'DEV1', '--unbind', '--owner', 'ada@example.com'], TOKEN), 2, 'error: give --owner or --unbind, not both')

  const bridged = await cli.json(['admin', 'devices', 'update', 'DEV1', '--lan-ip', '127.0.0.1', '--lan-mqtt-port', '1', '--lan-ftps-port', '2'], TOKEN)
  assert.deepEqual([bridged.lan_ip, bridged.lan_mqtt_port, bridged.lan_ftps_port], ['127.0.0.1', 1, 2])
  const unbridged = await cli.json(['admin', 'devices', 'update', 'DEV1', '--lan-ip', 'off'], TOKEN)
  assert.deepEqual([unbridged.lan_ip, unbridged.bridge], [null, null])
  assertFails(await cli.run(['admin', 'devices', 'update', 'DEV1', '--lan-mqtt-port', '0'], TOKEN), 2, /expected a port from 1 to 65535/)

  const removed = await cli.run(['admin', 'devices', 'remove', 'DEV1'], TOKEN)
  assert.equal(removed.code, 0, removed.stderr)
  assert.deepEqual((await cli.admin('GET', '/admin/v1/devices')).devices.map((d: { dev_id: string }) => d.dev_id), ['DEV2'])
  assertFails(await cli.run(['admin', 'devices', 'get', 'DEV1'], TOKEN), 1, 'error: Not found: no device DEV1 (code 1004, HTTP 404)')
})

test('admin report, from a JSON argument or a file, drives what the owner sees', async (t) => {
  const cli = await startCli(t)
  await cli.createUser('ada@example.com')
  await cli.admin('POST', '/admin/v1/devices', { dev_id: 'DEV1', name: 'Workshop', dev_model_name: 'BL-P001', dev_product_name: 'X1 Carbon', owner: 'ada@example.com' })
  await cli.login('ada@example.com')

  const r = await cli.run(['admin', 'report', 'DEV1', '{"print":{"command":"push_status","gcode_state":"RUNNING","mc_percent":40,"subtask_name":"Benchy"}}'], TOKEN)
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stderr, 'Applied the report to DEV1.\n')
  let [status] = await cli.json(['status'])
  assert.deepEqual([status.task_name, status.task_status, status.progress], ['Benchy', 'RUNNING', 40])

  const file = path.join(path.dirname(cli.configHome), 'report.json')
  fs.writeFileSync(file, JSON.stringify({ print: { command: 'push_status', gcode_state: 'FINISH', mc_percent: 100 } }))
  await cli.ok(['admin', 'report', 'DEV1', '--json-file', file], TOKEN)
  ;[status] = await cli.json(['status'])
  assert.deepEqual([status.task_status, status.progress], ['SUCCESS', 100])
  const [task] = await cli.json(['tasks'])
  assert.deepEqual([task.title, task.status], ['Benchy', 2])

  assertFails(await cli.run(['admin', 'report', 'DEV1'], TOKEN), 2, 'error: give the report as a JSON argument or with --json-file, one of the two')
  assertFails(await cli.run(['admin', 'report', 'DEV1', '[1]'], TOKEN), 2, 'error: the report is not a JSON object')
  assertFails(await cli.run(['admin', 'report', 'NOPE', '{}'], TOKEN), 1, /^error: Not found.* \(code 1004, HTTP 404\)$/)
})

test('admin firmware add and admin settings add publish to the catalogs users read', async (t) => {
  const cli = await startCli(t)
  await cli.createUser('ada@example.com')
  await cli.admin('POST', '/admin/v1/devices', { dev_id: 'DEV1', name: 'Workshop', dev_model_name: 'BL-P001', dev_product_name: 'X1 Carbon', owner: 'ada@example.com', firmware_version: '01.07.00.00' })
  await cli.login('ada@example.com')

  const fw = await cli.json(['admin', 'firmware', 'add', '--model', 'BL-P001', '--version', '01.08.00.00', '--url', 'https://example.org/fw.bin', '--description', 'Faster', '--force'], TOKEN)
  assert.deepEqual({ ...fw, id: 0 }, { id: 0, dev_model_name: 'BL-P001', version: '01.08.00.00', url: 'https://example.org/fw.bin', description: 'Faster', force_update: true })
  const [printer] = await cli.json(['firmware', 'DEV1'])
  assert.deepEqual(printer.firmware, [{ version: '01.08.00.00', force_update: true, url: 'https://example.org/fw.bin', description: 'Faster' }])
  assertFails(await cli.run(['admin', 'firmware', 'add', '--model', 'BL-P001', '--version', 'latest', '--url', 'x'], TOKEN), 1, /^error: Bad request: body\/version must match pattern .* \(code 1002, HTTP 400\)$/)

  const file = path.join(path.dirname(cli.configHome), 'preset.json')
  fs.writeFileSync(file, JSON.stringify({ type: 'print', name: '0.20mm Workshop', version: '01.10.00.00', setting: { layer_height: '0.2' } }))
  const added = await cli.run(['admin', 'settings', 'add', '--file', file], TOKEN)
  assert.equal(added.code, 0, added.stderr)
  const id = added.stdout.trim()
  assert.match(id, /^GP/)
  const preset = await cli.json(['settings', 'get', id])
  assert.deepEqual([preset.name, preset.public, preset.setting], ['0.20mm Workshop', true, { layer_height: '0.2' }])

  // What `settings get --json` printed can be published again (the server's fields are left out).
  fs.writeFileSync(file, JSON.stringify({ ...preset, setting_id: 'GPCOPY01', name: 'Copy' }))
  assert.deepEqual(await cli.json(['admin', 'settings', 'add', '--file', file], TOKEN), { setting_id: 'GPCOPY01' })
})

test('admin outbox lists the codes sent, newest first; a refused admin token exits 1', async (t) => {
  const cli = await startCli(t)
  await cli.createUser('bob@example.com', 'email_code')
  assert.deepEqual(await cli.json(['admin', 'outbox'], TOKEN), [])
  await cli.run(['login', '--account', 'bob@example.com'], { BAMBU_PASSWORD: PASSWORD })
  await cli.run(['login', '--account', 'bob@example.com'], { BAMBU_PASSWORD: PASSWORD })

  const messages = await cli.json(['admin', 'outbox', '--account', 'bob@example.com'], TOKEN)
  assert.deepEqual(messages, (await cli.admin('GET', '/admin/v1/outbox?account=bob%40example.com')).messages)
  assert.equal(messages.length, 2)
  const lines = plainLines(await cli.ok(['admin', 'outbox', '--admin-token', ADMIN_TOKEN]))
  assert.deepEqual(lines, messages.map((m: { created_at: string; code: string }) => `${m.created_at}\temail_code\t${m.code}\tbob@example.com`))

  assertFails(await cli.run(['admin', 'outbox', '--admin-token', 'not-the-admin-token-000']), 1, 'error: Admin token required (code 1010, HTTP 401)')
})
