import { test } from 'node:test'
import assert from 'node:assert/strict'
import argon2 from 'argon2'
import { loadSecretsKey } from '../src/data-dir.ts'
import { SecretBox } from '../src/lib/secret-box.ts'
import { ADMIN_TOKEN, PASSWORD, bearer, startTestApp, type TestApp } from './helpers/app.ts'

type Response = Awaited<ReturnType<TestApp['request']>>

const USER_FIELDS = ['uid', 'account', 'name', 'login_policy', 'disabled', 'created_at']
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const BASE32 = /^[A-Z2-7]+$/

function createUser(s: TestApp, payload: unknown) {
  return s.admin({ method: 'POST', url: '/admin/v1/users', payload: payload as Record<string, unknown> })
}

function getUser(s: TestApp, uid: number | string) {
  return s.admin({ method: 'GET', url: `/admin/v1/users/${uid}` })
}

function patchUser(s: TestApp, uid: number | string, payload: unknown) {
  return s.admin({ method: 'PATCH', url: `/admin/v1/users/${uid}`, payload: payload as Record<string, unknown> })
}

/** Asserts an error envelope with the given status. */
function assertEnvelope(res: Response, status: number, label = 'response') {
  assert.equal(res.statusCode, status, `${label}: ${res.body}`)
  const body = res.json()
  assert.equal(typeof body.code, 'number', label)
  assert.equal(typeof body.error, 'string', label)
  assert.ok(body.message === undefined || typeof body.message === 'string', label)
  assert.deepEqual(
    Object.keys(body).filter((k) => !['code', 'error', 'message'].includes(k)),
    [],
    `${label}: nothing but the envelope`,
  )
}

/** Asserts an admin user record: exactly its fields, each with its JSON type. */
function assertAdminUser(body: Record<string, unknown>, withSecret: boolean, label = 'user') {
  assert.deepEqual(Object.keys(body).sort(), [...USER_FIELDS, ...(withSecret ? ['tfa_secret'] : [])].sort(), label)
  assert.equal(typeof body.uid, 'number', label)
  assert.ok(Number.isInteger(body.uid), label)
  assert.ok((body.uid as number) > 0 && (body.uid as number) < 2 ** 32, `${label}: uid ${body.uid}`)
  assert.equal(typeof body.account, 'string', label)
  assert.equal(typeof body.name, 'string', label)
  assert.ok(['password', 'email_code', 'tfa'].includes(body.login_policy as string), label)
  assert.equal(typeof body.disabled, 'boolean', label)
  assert.equal(typeof body.created_at, 'string', label)
  assert.match(body.created_at as string, ISO_TIME, label)
  if (withSecret) {
    assert.equal(typeof body.tfa_secret, 'string', label)
    assert.match(body.tfa_secret as string, BASE32, label)
    assert.equal((body.tfa_secret as string).length, 32, `${label}: a 160-bit secret`)
  }
}

async function countUsers(s: TestApp): Promise<number> {
  return (await s.database.db.selectFrom('users').select('uid').execute()).length
}

/** The stored row; its TFA secret, sealed at rest, opened with the server's key. */
async function storedUser(s: TestApp, uid: number) {
  const row = await s.database.db.selectFrom('users').selectAll().where('uid', '=', uid).executeTakeFirst()
  if (!row?.tfa_secret) return row
  assert.ok(SecretBox.isSealed(row.tfa_secret), 'the TFA secret is sealed at rest')
  return { ...row, tfa_secret: new SecretBox(loadSecretsKey(s.config)).open(row.tfa_secret) }
}

test('POST /admin/v1/users answers 201 with the record and its JSON types', async (t) => {
  const s = await startTestApp(t)
  const res = await createUser(s, { account: ' New.User@Example.COM ', password: PASSWORD, name: 'New User', login_policy: 'password' })
  assert.equal(res.statusCode, 201, res.body)
  const body = res.json()
  assertAdminUser(body, false)
  assert.deepEqual(body, {
    uid: body.uid,
    account: 'new.user@example.com',
    name: 'New User',
    login_policy: 'password',
    disabled: false,
    created_at: new Date(s.clock.ms).toISOString(),
  })

  const row = await storedUser(s, body.uid)
  assert.ok(row)
  assert.equal(row.account, 'new.user@example.com')
  assert.equal(row.name, 'New User')
  assert.equal(row.login_policy, 'password')
  assert.equal(row.tfa_secret, null)
  assert.equal(row.disabled, 0)
  assert.equal(row.created_at, s.clock.ms)

  // Without name and policy: the name is the address's local part, the policy password.
  const plain = await createUser(s, { account: 'maker@example.com', password: PASSWORD })
  assert.equal(plain.statusCode, 201)
  assertAdminUser(plain.json(), false)
  assert.equal(plain.json().name, 'maker')
  assert.equal(plain.json().login_policy, 'password')
  assert.ok(plain.json().uid > body.uid)

  // A phone number is an account too.
  const phone = await createUser(s, { account: '+15551234567', password: PASSWORD, name: 'Phone' })
  assert.equal(phone.statusCode, 201, phone.body)
  assert.equal(phone.json().account, '+15551234567')
})

test('a tfa user comes back with a base32 tfa_secret; other policies without one', async (t) => {
  const s = await startTestApp(t)
  const tfa = await createUser(s, { account: 'guarded@example.com', password: PASSWORD, login_policy: 'tfa' })
  assert.equal(tfa.statusCode, 201)
  assertAdminUser(tfa.json(), true, 'tfa user')
  assert.equal(tfa.json().login_policy, 'tfa')
  assert.equal((await storedUser(s, tfa.json().uid))?.tfa_secret, tfa.json().tfa_secret)

  const other = await createUser(s, { account: 'guarded2@example.com', password: PASSWORD, login_policy: 'tfa' })
  assert.notEqual(other.json().tfa_secret, tfa.json().tfa_secret, 'each user gets its own secret')

  const coder = await createUser(s, { account: 'coder@example.com', password: PASSWORD, login_policy: 'email_code' })
  assert.equal(coder.statusCode, 201)
  assertAdminUser(coder.json(), false, 'email_code user')
  assert.equal(coder.json().login_policy, 'email_code')
  assert.equal((await storedUser(s, coder.json().uid))?.tfa_secret, null)
})

test('creating an existing account, in any letter case, is a 409 envelope and changes nothing', async (t) => {
  const s = await startTestApp(t)
  const first = await createUser(s, { account: 'maker@example.com', password: PASSWORD, name: 'Original' })
  assert.equal(first.statusCode, 201)
  for (const account of ['maker@example.com', 'Maker@Example.com', '  MAKER@EXAMPLE.COM']) {
    const res = await createUser(s, { account, password: 'another password', name: 'Impostor' })
    assertEnvelope(res, 409, account)
  }
  assert.equal(await countUsers(s), 1)
  const row = await storedUser(s, first.json().uid)
  assert.equal(row?.name, 'Original')
  // The original password still works, the would-be one does not.
  await s.login('maker@example.com')
  const other = await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'maker@example.com', password: 'another password' } })
  assert.equal(other.statusCode, 400)
})

test('a malformed account, a short password, unknown fields and wrong types are 400 envelopes', async (t) => {
  const s = await startTestApp(t)
  const bad: [string, unknown][] = [
    ['no @', { account: 'not-an-email', password: PASSWORD }],
    ['no domain dot', { account: 'a@b', password: PASSWORD }],
    ['space inside', { account: 'a b@example.com', password: PASSWORD }],
    ['empty account', { account: '', password: PASSWORD }],
    ['blank account', { account: '   ', password: PASSWORD }],
    ['five digits', { account: '12345', password: PASSWORD }],
    ['too long', { account: `${'a'.repeat(250)}@example.com`, password: PASSWORD }],
    ['7-character password', { account: 'maker@example.com', password: '1234567' }],
    ['empty password', { account: 'maker@example.com', password: '' }],
    ['unknown field', { account: 'maker@example.com', password: PASSWORD, role: 'admin' }],
    ['unknown field disabled', { account: 'maker@example.com', password: PASSWORD, disabled: true }],
    ['number account', { account: 12345678, password: PASSWORD }],
    ['number password', { account: 'maker@example.com', password: 123456789 }],
    ['number name', { account: 'maker@example.com', password: PASSWORD, name: 5 }],
    ['unknown policy', { account: 'maker@example.com', password: PASSWORD, login_policy: 'sms' }],
    ['null policy', { account: 'maker@example.com', password: PASSWORD, login_policy: null }],
    ['missing password', { account: 'maker@example.com' }],
    ['missing account', { password: PASSWORD }],
    ['array body', [{ account: 'maker@example.com', password: PASSWORD }]],
  ]
  for (const [label, payload] of bad) assertEnvelope(await createUser(s, payload), 400, label)
  assert.equal(await countUsers(s), 0, 'none of them created a user')

  // Exactly 8 characters is enough.
  const eight = await createUser(s, { account: 'maker@example.com', password: '12345678' })
  assert.equal(eight.statusCode, 201, eight.body)
  await s.login('maker@example.com', '12345678')
})

test('GET /admin/v1/users lists every user without secrets; GET /admin/v1/users/{uid} reads one', async (t) => {
  const s = await startTestApp(t)
  const empty = await s.admin({ method: 'GET', url: '/admin/v1/users' })
  assert.equal(empty.statusCode, 200)
  assert.deepEqual(empty.json(), { users: [] })

  const a = await s.createUser('a@example.com', { name: 'A' })
  s.clock.advance(1000)
  const b = await s.createUser('b@example.com', { login_policy: 'tfa' })
  s.clock.advance(1000)
  const c = await s.createUser('c@example.com', { login_policy: 'email_code' })
  const { tfa_secret: _secret, ...bWithoutSecret } = b
  assert.equal(typeof _secret, 'string')

  const res = await s.admin({ method: 'GET', url: '/admin/v1/users' })
  assert.equal(res.statusCode, 200)
  const body = res.json()
  assert.deepEqual(Object.keys(body), ['users'])
  assert.equal(body.users.length, 3)
  for (const user of body.users) assertAdminUser(user, false, `listed ${user.account}`)
  assert.deepEqual(body.users, [a, bWithoutSecret, c])
  assert.ok(!res.body.includes(_secret!))

  for (const user of [a, bWithoutSecret, c]) {
    const one = await getUser(s, user.uid)
    assert.equal(one.statusCode, 200)
    assertAdminUser(one.json(), false, `read ${user.account}`)
    assert.deepEqual(one.json(), user)
  }
  assert.ok(!(await getUser(s, b.uid)).body.includes(_secret!))
})

test('unknown or malformed uids: 404 or 400 envelopes on GET, PATCH and DELETE', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com')
  for (const uid of [user.uid + 1, user.uid + 1000, 1, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER]) {
    assertEnvelope(await getUser(s, uid), 404, `GET ${uid}`)
    assertEnvelope(await patchUser(s, uid, { name: 'x' }), 404, `PATCH ${uid}`)
    assertEnvelope(await s.admin({ method: 'DELETE', url: `/admin/v1/users/${uid}` }), 404, `DELETE ${uid}`)
  }
  // Past 2^53 is refused in validation, like any integer no database column could hold.
  for (const uid of ['abc', '0', '-5', '1.5', '9007199254740992', '9223372036854775808', '99999999999999999999']) {
    assertEnvelope(await getUser(s, uid), 400, `GET ${uid}`)
    assertEnvelope(await patchUser(s, uid, { name: 'x' }), 400, `PATCH ${uid}`)
    assertEnvelope(await s.admin({ method: 'DELETE', url: `/admin/v1/users/${uid}` }), 400, `DELETE ${uid}`)
  }
  assert.equal(await countUsers(s), 1)
})

test('PATCH changes the name and the policy; turning TFA on hands out a new secret', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com', { name: 'Maker' })

  const renamed = await patchUser(s, user.uid, { name: 'Renamed' })
  assert.equal(renamed.statusCode, 200)
  assertAdminUser(renamed.json(), false)
  assert.deepEqual(renamed.json(), { ...user, name: 'Renamed' })
  assert.equal((await storedUser(s, user.uid))?.name, 'Renamed')

  const tfaOn = await patchUser(s, user.uid, { login_policy: 'tfa' })
  assert.equal(tfaOn.statusCode, 200)
  assertAdminUser(tfaOn.json(), true, 'TFA turned on')
  assert.equal(tfaOn.json().login_policy, 'tfa')
  const secret = tfaOn.json().tfa_secret
  assert.equal((await storedUser(s, user.uid))?.tfa_secret, secret)

  // Further changes of a TFA user do not show (or change) the secret again.
  const stillTfa = await patchUser(s, user.uid, { name: 'Guarded', login_policy: 'tfa' })
  assert.equal(stillTfa.statusCode, 200)
  assertAdminUser(stillTfa.json(), false, 'TFA user renamed')
  assert.equal(stillTfa.json().name, 'Guarded')
  assert.equal((await storedUser(s, user.uid))?.tfa_secret, secret)
  assert.deepEqual((await getUser(s, user.uid)).json(), stillTfa.json())

  const codeOn = await patchUser(s, user.uid, { login_policy: 'email_code' })
  assert.equal(codeOn.statusCode, 200)
  assertAdminUser(codeOn.json(), false, 'email_code')
  assert.equal(codeOn.json().login_policy, 'email_code')
  assert.equal((await storedUser(s, user.uid))?.tfa_secret, null, 'turning TFA off forgets the secret')

  const tfaAgain = await patchUser(s, user.uid, { login_policy: 'tfa' })
  assertAdminUser(tfaAgain.json(), true, 'TFA on again')
  assert.notEqual(tfaAgain.json().tfa_secret, secret, 'a fresh secret each time TFA is turned on')

  // An empty name keeps the old one; an empty patch changes nothing.
  assert.equal((await patchUser(s, user.uid, { name: '   ' })).json().name, 'Guarded')
  const noop = await patchUser(s, user.uid, {})
  assert.equal(noop.statusCode, 200)
  assertAdminUser(noop.json(), false, 'empty patch')
  assert.equal(noop.json().login_policy, 'tfa')
})

test('PATCH refuses unknown fields, wrong types and short passwords, changing nothing', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com', { name: 'Maker' })
  const { accessToken } = await s.login('maker@example.com')
  const before = await storedUser(s, user.uid)
  const bad: [string, unknown][] = [
    ['unknown field', { account: 'other@example.com' }],
    ['uid', { uid: 5 }],
    ['string disabled', { disabled: 'yes' }],
    ['number disabled', { disabled: 1 }],
    ['number name', { name: 7 }],
    ['unknown policy', { login_policy: 'sms' }],
    ['short password', { password: 'short' }],
    ['short password with a valid name', { password: '1234567', name: 'Changed' }],
  ]
  for (const [label, payload] of bad) assertEnvelope(await patchUser(s, user.uid, payload), 400, label)
  assert.deepEqual(await storedUser(s, user.uid), before)
  // The refused password change revoked nothing.
  const profile = await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(accessToken) })
  assert.equal(profile.statusCode, 200)
})

test('DELETE answers 204 with no body, then the user is gone (404)', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com')
  const keep = await s.createUser('keep@example.com')

  const res = await s.admin({ method: 'DELETE', url: `/admin/v1/users/${user.uid}` })
  assert.equal(res.statusCode, 204)
  assert.equal(res.body, '')
  assert.equal(await storedUser(s, user.uid), undefined)

  assertEnvelope(await getUser(s, user.uid), 404, 'GET after DELETE')
  assertEnvelope(await patchUser(s, user.uid, { name: 'x' }), 404, 'PATCH after DELETE')
  assertEnvelope(await s.admin({ method: 'DELETE', url: `/admin/v1/users/${user.uid}` }), 404, 'DELETE again')
  assert.deepEqual((await s.admin({ method: 'GET', url: '/admin/v1/users' })).json(), { users: [keep] })

  // The account may be created again, as a new user.
  const again = await s.createUser('maker@example.com')
  assert.ok(again.uid > keep.uid)
})

test('GET /admin/v1/outbox lists codes newest first, filtered by account', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  await s.createUser('other@example.com', { login_policy: 'email_code' })
  await s.createUser('+15551234567')

  const empty = await s.admin({ method: 'GET', url: '/admin/v1/outbox' })
  assert.equal(empty.statusCode, 200)
  assert.deepEqual(empty.json(), { messages: [] })

  const sends: [string, string, string][] = [
    ['/v1/user-service/user/sendemail/code', 'email', 'coder@example.com'],
    ['/v1/user-service/user/sendemail/code', 'email', 'other@example.com'],
    ['/v1/user-service/user/sendsmscode', 'phone', '+15551234567'],
    ['/v1/user-service/user/sendemail/code', 'email', 'coder@example.com'],
  ]
  const times: number[] = []
  for (const [url, field, account] of sends) {
    const res = await s.request({ method: 'POST', url, payload: { [field]: account, type: 'codeLogin' } })
    assert.equal(res.statusCode, 200, res.body)
    times.push(s.clock.ms)
    s.clock.advance(1000)
  }
  const stored = await s.database.db.selectFrom('outbox').selectAll().orderBy('id').execute()
  assert.equal(stored.length, 4)

  const all = await s.admin({ method: 'GET', url: '/admin/v1/outbox' })
  assert.equal(all.statusCode, 200)
  assert.deepEqual(Object.keys(all.json()), ['messages'])
  const messages = all.json().messages
  for (const m of messages) {
    assert.deepEqual(Object.keys(m).sort(), ['account', 'code', 'created_at', 'kind'])
    for (const field of ['account', 'kind', 'code', 'created_at']) assert.equal(typeof m[field], 'string', field)
    assert.match(m.code, /^\d{6}$/)
    assert.match(m.created_at, ISO_TIME)
  }
  const expected = stored
    .map((row, i) => ({
      account: sends[i]![2],
      kind: sends[i]![1] === 'phone' ? 'sms_code' : 'email_code',
      code: row.code,
      created_at: new Date(times[i]!).toISOString(),
    }))
    .reverse()
  assert.deepEqual(messages, expected)

  for (const query of ['coder@example.com', 'Coder@Example.COM']) {
    const res = await s.admin({ method: 'GET', url: `/admin/v1/outbox?account=${encodeURIComponent(query)}` })
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json().messages, [expected[0], expected[3]], query)
  }
  const sms = await s.admin({ method: 'GET', url: `/admin/v1/outbox?account=${encodeURIComponent('+15551234567')}` })
  assert.deepEqual(sms.json().messages, [expected[1]])
  const none = await s.admin({ method: 'GET', url: '/admin/v1/outbox?account=nobody%40example.com' })
  assert.deepEqual(none.json(), { messages: [] })
})

test('every admin route answers 401 in the envelope without the right admin token, and does nothing', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com')
  const { accessToken } = await s.login('maker@example.com')
  const routes: { method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string; route: string; payload?: Record<string, unknown> }[] = [
    { method: 'POST', route: '/admin/v1/users', url: '/admin/v1/users', payload: { account: 'intruder@example.com', password: PASSWORD } },
    { method: 'GET', route: '/admin/v1/users', url: '/admin/v1/users' },
    { method: 'GET', route: '/admin/v1/users/:uid', url: `/admin/v1/users/${user.uid}` },
    { method: 'PATCH', route: '/admin/v1/users/:uid', url: `/admin/v1/users/${user.uid}`, payload: { password: 'taken over!', disabled: true } },
    { method: 'DELETE', route: '/admin/v1/users/:uid', url: `/admin/v1/users/${user.uid}` },
    { method: 'GET', route: '/admin/v1/outbox', url: '/admin/v1/outbox' },
  ]
  // The user and outbox routes are admin routes; any other admin route is walked too.
  const adminRoutes = s.app.routeTable.filter((r) => r.auth === 'admin')
  const known = routes.map((r) => `${r.method} ${r.route}`)
  for (const name of known) assert.ok(adminRoutes.some((r) => `${r.method} ${r.url}` === name), `${name} is an admin route`)
  for (const r of adminRoutes) {
    if (known.includes(`${r.method} ${r.url}`)) continue
    routes.push({ method: r.method as 'GET', route: r.url, url: r.url.replace(/:[A-Za-z_]+/g, '1'), ...(r.method === 'GET' ? {} : { payload: {} }) })
  }

  const headerSets: [string, Record<string, string>][] = [
    ['no token', {}],
    ['wrong token', bearer('wrong-admin-token-0123456789')],
    ['a user access token', bearer(accessToken)],
    ['the admin token with a suffix', bearer(`${ADMIN_TOKEN}x`)],
    ['a prefix of the admin token', bearer(ADMIN_TOKEN.slice(0, -1))],
    ['the admin token without Bearer', { authorization: ADMIN_TOKEN }],
    ['the admin token as Basic', { authorization: `Basic ${ADMIN_TOKEN}` }],
    ['the admin token in another header', { 'x-admin-token': ADMIN_TOKEN }],
  ]
  let firstBody: string | undefined
  for (const route of routes) {
    for (const [label, headers] of headerSets) {
      const res = await s.request({ method: route.method, url: route.url, headers, ...(route.payload ? { payload: route.payload } : {}) })
      assertEnvelope(res, 401, `${route.method} ${route.url} with ${label}`)
      firstBody ??= res.body
      assert.equal(res.body, firstBody, 'the same answer everywhere')
    }
  }
  // None of those calls had any effect.
  assert.equal(await countUsers(s), 1)
  const row = await storedUser(s, user.uid)
  assert.equal(row?.disabled, 0)
  const profile = await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(accessToken) })
  assert.equal(profile.statusCode, 200)
  await s.login('maker@example.com')
})

test('passwords are stored as Argon2id hashes (m=19456, t=2, p=1) and never appear in a response', async (t) => {
  const s = await startTestApp(t)
  const passwords = ['first secret password', 'second secret password', 'third secret password']
  const bodies: string[] = []
  const record = (res: Response) => {
    bodies.push(res.body, JSON.stringify(res.headers))
    return res
  }

  const a = record(await createUser(s, { account: 'a@example.com', password: passwords[0] }))
  assert.equal(a.statusCode, 201)
  const b = record(await createUser(s, { account: 'b@example.com', password: passwords[0], login_policy: 'tfa' }))
  assert.equal(b.statusCode, 201)
  record(await s.admin({ method: 'GET', url: '/admin/v1/users' }))
  record(await getUser(s, a.json().uid))
  record(await getUser(s, b.json().uid))
  const patched = record(await patchUser(s, a.json().uid, { password: passwords[1], name: 'A' }))
  assert.equal(patched.statusCode, 200)
  record(await patchUser(s, b.json().uid, { password: passwords[2], login_policy: 'password' }))
  record(await createUser(s, { account: 'a@example.com', password: passwords[2] }))
  record(await createUser(s, { account: 'c@example.com', password: 'short' }))
  record(await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'a@example.com', password: passwords[1] } }))

  const rows = await s.database.db.selectFrom('users').select(['uid', 'account', 'password_hash']).orderBy('uid').execute()
  assert.equal(rows.length, 2)
  const expectedPassword = new Map([
    ['a@example.com', passwords[1]!],
    ['b@example.com', passwords[2]!],
  ])
  for (const row of rows) {
    assert.ok(row.password_hash.startsWith('$argon2id$'), row.password_hash)
    assert.match(row.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/)
    assert.ok(await argon2.verify(row.password_hash, expectedPassword.get(row.account)!), `the hash of ${row.account} verifies its password`)
    for (const p of passwords) assert.ok(!row.password_hash.includes(p))
  }
  assert.notEqual(rows[0]!.password_hash, rows[1]!.password_hash)

  // Two users with one password get different hashes (salted).
  const c = await createUser(s, { account: 'c@example.com', password: passwords[1] })
  assert.equal(c.statusCode, 201)
  const cHash = (await storedUser(s, c.json().uid))!.password_hash
  assert.notEqual(cHash, rows[0]!.password_hash)

  const responses = bodies.join('\n')
  for (const p of passwords) assert.ok(!responses.includes(p), `a response contains the password "${p}"`)
  for (const row of rows) assert.ok(!responses.includes(row.password_hash), 'a response contains a password hash')
  assert.ok(!responses.includes('$argon2'), 'a response contains an argon2 hash')
  assert.ok(!responses.includes('password_hash'))
})
