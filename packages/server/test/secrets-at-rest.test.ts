/**
 * Secrets at rest and the data directory's modes. TFA secrets, access codes and the
 * signing keys are sealed in the database (a copy of it alone gives none away) while
 * logins, the broker and the admin API work as before; plain rows an earlier version
 * stored are sealed on start; SECRETS_KEY gives the key, and a key that does not open the
 * database's secrets stops the start with one line. DATA_DIR is 0700, its files 0600.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { openDatabase } from '../src/db/database.ts'
import { loadSecretsKey } from '../src/data-dir.ts'
import { SecretBox } from '../src/lib/secret-box.ts'
import { totpCode } from '../src/lib/totp.ts'
import { addDevice, authenticatorCode, getJson, PASSWORD, startTestApp } from './helpers/app.ts'
import { createTestDatabase, onPostgres } from './helpers/database.ts'
import { connect, startBroker } from './helpers/mqtt.ts'
import { runServerToExit, startServer, type ServerProcess } from './helpers/process.ts'
import { buildThreeMf, SEED_PLATE } from './helpers/three-mf.ts'

const KEY_HEX = 'a1'.repeat(32)
const OTHER_KEY = Buffer.alloc(32, 9).toString('base64')
const ADMIN = 'process-admin-token-0123456789'

async function fresh(t: TestContext) {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  return db
}

function rawDatabase(t: TestContext, url: string) {
  const handle = openDatabase(url, { poolSize: 1 })
  t.after(() => handle.db.destroy())
  return handle.db
}

async function call(server: ServerProcess, method: string, url: string, body?: unknown, token = ADMIN) {
  const res = await fetch(server.url(url), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

/** A password login that asks for TFA, then the TFA step with the authenticator's code now. */
async function tfaLogin(server: ServerProcess, account: string, secret: string) {
  const first = await call(server, 'POST', '/v1/user-service/user/login', { account, password: PASSWORD })
  assert.equal(first.body.loginType, 'tfa')
  return call(server, 'POST', '/v1/user-service/user/tfa/login', { tfaKey: first.body.tfaKey, tfaCode: totpCode(secret, Date.now()) })
}

test('TFA secrets, access codes and signing keys are sealed in the database; logins, the broker and the admin API work as before', async (t) => {
  const s = await startTestApp(t)
  const box = new SecretBox(loadSecretsKey(s.config))
  const { db } = s.database

  const user = await s.createUser('guarded@example.com', { login_policy: 'tfa' })
  const stored = await db.selectFrom('users').select('tfa_secret').where('uid', '=', user.uid).executeTakeFirstOrThrow()
  assert.ok(SecretBox.isSealed(stored.tfa_secret!) && !stored.tfa_secret!.includes(user.tfa_secret!), stored.tfa_secret!)
  assert.equal(box.open(stored.tfa_secret!), user.tfa_secret)
  const first = await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'guarded@example.com', password: PASSWORD } })
  const login = await s.request({ method: 'POST', url: '/v1/user-service/user/tfa/login', payload: { tfaKey: first.json().tfaKey, tfaCode: authenticatorCode(user.tfa_secret!, s.clock) } })
  assert.equal(login.statusCode, 200, login.body)
  assert.equal(login.json().accessMethod, 'tfa')

  const owner = await s.createUser('owner@example.com')
  const { accessToken } = await s.login('owner@example.com')
  const added = await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  assert.equal(added.dev_access_code, '12345678')
  const device = await db.selectFrom('devices').select('dev_access_code').where('dev_id', '=', 'DEV1').executeTakeFirstOrThrow()
  assert.ok(SecretBox.isSealed(device.dev_access_code) && !device.dev_access_code.includes('12345678'), device.dev_access_code)
  assert.equal((await s.admin({ method: 'GET', url: '/admin/v1/devices/DEV1' })).json().dev_access_code, '12345678')
  const bound = await getJson(s, accessToken, '/v1/iot-service/api/user/bind')
  assert.equal(bound.devices[0].dev_access_code, '12345678')
  const changed = await s.admin({ method: 'PATCH', url: '/admin/v1/devices/DEV1', payload: { dev_access_code: '87654321' } })
  assert.equal(changed.json().dev_access_code, '87654321')
  assert.equal(box.open((await db.selectFrom('devices').select('dev_access_code').executeTakeFirstOrThrow()).dev_access_code), '87654321')
  const broker = await startBroker(s)
  const printer = await connect(broker, 'DEV1', '87654321')
  assert.ok(printer.client.connected, 'the printer logs in to the broker with its access code')
  await assert.rejects(connect(broker, 'DEV1', '12345678'), 'the old code no longer does')
  assert.ok(owner.uid > 0)

  await s.app.services.fileLinks.signer()
  await s.app.services.tokens.signingSecret()
  for (const { name, value } of await db.selectFrom('server_secrets').selectAll().orderBy('name').execute()) {
    assert.ok(SecretBox.isSealed(value), `${name} is sealed`)
    assert.ok(box.open(value).length >= 48, `${name} opens with the key`)
  }
})

test('the server process: DATA_DIR 0700 and every file in it 0600, a looser one tightened at start', async (t) => {
  const db = await fresh(t)
  // As an earlier version left it: a world-readable directory and file.
  fs.chmodSync(db.dataDir, 0o755)
  fs.writeFileSync(path.join(db.dataDir, 'notes.txt'), 'left by hand', { mode: 0o644 })
  fs.chmodSync(path.join(db.dataDir, 'notes.txt'), 0o644)
  // No ADMIN_TOKEN: the generated one is kept in DATA_DIR too.
  const server = await startServer({ DATA_DIR: db.dataDir, DATABASE_URL: db.url })
  t.after(() => server.stop('SIGKILL'))
  assert.match(server.stdout(), /DATA_DIR was readable by others: made it and its files private to the server/)
  const admin = fs.readFileSync(path.join(db.dataDir, 'admin-token'), 'utf8').trim()

  // An upload, so DATA_DIR/files holds a project file.
  assert.equal((await call(server, 'POST', '/admin/v1/users', { account: 'ada@example.com', password: PASSWORD }, admin)).status, 201)
  const token = (await call(server, 'POST', '/v1/user-service/user/login', { account: 'ada@example.com', password: PASSWORD })).body.accessToken
  const project = await call(server, 'POST', '/v1/iot-service/api/user/project', { name: 'x.3mf' }, token)
  const uploadUrl = new URL(project.body.upload_url)
  const put = await fetch(server.url(uploadUrl.pathname + uploadUrl.search), { method: 'PUT', body: new Uint8Array(buildThreeMf({ plates: [SEED_PLATE] })) })
  assert.equal(put.status, 200)

  // The broker (and its certificate) comes up just after HTTP.
  for (let i = 0; i < 1000 && !server.stdout().includes('MQTT broker listening'); i++) await new Promise((r) => setTimeout(r, 20))
  const modes = new Map<string, number>()
  modes.set('.', fs.statSync(db.dataDir).mode & 0o777)
  for (const entry of fs.readdirSync(db.dataDir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name)
    modes.set(path.relative(db.dataDir, full), fs.statSync(full).mode & 0o777)
  }
  const expected = ['.', 'admin-token', 'secrets.key', 'mqtt.crt', 'mqtt.key', 'notes.txt', 'files', 'files/projects', `files/projects/${project.body.project_id}`]
  if (!onPostgres) expected.push('test.db', 'test.db-wal', 'test.db-shm')
  for (const name of expected) assert.ok(modes.has(name), `${name} is there`)
  assert.ok([...modes.keys()].some((name) => /^files\/projects\/\d+\/upload-[0-9a-f]+\.3mf$/.test(name)), 'the upload is there')
  for (const [name, mode] of modes) {
    const dir = fs.statSync(path.join(db.dataDir, name)).isDirectory()
    assert.equal(mode.toString(8), (dir ? 0o700 : 0o600).toString(8), name)
  }
  assert.equal(await server.stop(), 0)
})

test('plain secrets of an earlier version are sealed on start with SECRETS_KEY; another key refuses to start in one line', async (t) => {
  const db = await fresh(t)
  const env = { DATA_DIR: db.dataDir, DATABASE_URL: db.url, ADMIN_TOKEN: ADMIN, SECRETS_KEY: KEY_HEX }
  const first = await startServer(env)
  t.after(() => first.stop('SIGKILL'))
  const created = await call(first, 'POST', '/admin/v1/users', { account: 'guarded@example.com', password: PASSWORD, login_policy: 'tfa' })
  const secret: string = created.body.tfa_secret
  assert.equal((await call(first, 'POST', '/admin/v1/devices', { dev_id: 'DEV1', name: 'P', dev_model_name: 'C11', dev_product_name: 'P1P', owner: 'guarded@example.com', dev_access_code: '24681357' })).status, 201)
  assert.equal(await first.stop(), 0)
  assert.ok(!fs.existsSync(path.join(db.dataDir, 'secrets.key')), 'SECRETS_KEY given: no key file')

  // The rows as an earlier version stored them: in plain.
  const raw = rawDatabase(t, db.url)
  await raw.updateTable('users').set({ tfa_secret: secret }).execute()
  await raw.updateTable('devices').set({ dev_access_code: '24681357' }).execute()
  await raw.updateTable('server_secrets').set({ value: 'an-old-plain-link-key' }).where('name', '=', 'file-links').execute()

  const second = await startServer(env)
  t.after(() => second.stop('SIGKILL'))
  assert.match(second.stdout(), /"tfaSecrets":1,"accessCodes":1,"msg":"sealed secrets an earlier version stored in plain"/)
  const box = new SecretBox(Buffer.from(KEY_HEX, 'hex'))
  const user = await raw.selectFrom('users').select('tfa_secret').executeTakeFirstOrThrow()
  const device = await raw.selectFrom('devices').select('dev_access_code').executeTakeFirstOrThrow()
  const links = await raw.selectFrom('server_secrets').select('value').where('name', '=', 'file-links').executeTakeFirstOrThrow()
  for (const [value, plain] of [[user.tfa_secret!, secret], [device.dev_access_code, '24681357'], [links.value, 'an-old-plain-link-key']] as const) {
    assert.ok(SecretBox.isSealed(value), value)
    assert.equal(box.open(value), plain)
  }
  const login = await tfaLogin(second, 'guarded@example.com', secret)
  assert.equal(login.status, 200, JSON.stringify(login.body))
  assert.equal((await call(second, 'GET', '/admin/v1/devices/DEV1')).body.dev_access_code, '24681357')
  assert.equal(await second.stop(), 0)

  // Sealing again finds nothing: the step is idempotent.
  const third = await startServer(env)
  t.after(() => third.stop('SIGKILL'))
  assert.doesNotMatch(third.stdout(), /sealed secrets/)
  assert.equal(await third.stop(), 0)

  const wrong = await runServerToExit({ ...env, SECRETS_KEY: OTHER_KEY })
  assert.equal(wrong.code, 1)
  assert.deepEqual(wrong.stderr.trim().split('\n'), [
    'bambu-cloud: failed to start: the secrets key does not open the secrets sealed in this database (SECRETS_KEY or DATA_DIR/secrets.key is not the key they were sealed with)',
  ])
  const malformed = await runServerToExit({ ...env, SECRETS_KEY: 'too-short' })
  assert.equal(malformed.code, 1)
  assert.deepEqual(malformed.stderr.trim().split('\n'), ['bambu-cloud: configuration error: SECRETS_KEY must be 32 bytes written as base64 or hex (openssl rand -base64 32)'])
})
