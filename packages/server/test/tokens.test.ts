import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { PASSWORD, assertTokens, bearer, startTestApp, type TestApp, type TokenBody } from './helpers/app.ts'

const UNAUTHORIZED = { code: 4, error: 'Please login.', message: '' }
const INCORRECT_PASSWORD = { code: 2, error: 'Incorrect password' }
const NEW_PASSWORD = 'a different passphrase'

/** Every table of the schema, to look for plaintext tokens anywhere. */
const TABLES = ['users', 'logins', 'tokens', 'login_codes', 'tfa_challenges', 'tickets', 'rate_events', 'outbox', 'server_secrets'] as const

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex')
}

function refresh(s: TestApp, refreshToken: string) {
  return s.request({ method: 'POST', url: '/v1/user-service/user/refreshtoken', payload: { refreshToken } })
}

function profile(s: TestApp, accessToken: string) {
  return s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(accessToken) })
}

function passwordLogin(s: TestApp, account: string, password: string) {
  return s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account, password } })
}

/** Asserts the access token is accepted and belongs to `account`. */
async function assertAccessWorks(s: TestApp, accessToken: string, account: string, label = 'access token') {
  const res = await profile(s, accessToken)
  assert.equal(res.statusCode, 200, `${label}: ${res.body}`)
  assert.equal(res.json().account, account, label)
}

/** Asserts the access token is refused with the 401 envelope. */
async function assertAccessRefused(s: TestApp, accessToken: string, label = 'access token') {
  const res = await profile(s, accessToken)
  assert.equal(res.statusCode, 401, `${label}: ${res.body}`)
  assert.deepEqual(res.json(), UNAUTHORIZED, label)
}

/** Asserts the refresh token is refused with the 401 envelope (and gives out nothing). */
async function assertRefreshRefused(s: TestApp, refreshToken: string, label = 'refresh token') {
  const res = await refresh(s, refreshToken)
  assert.equal(res.statusCode, 401, `${label}: ${res.body}`)
  assert.deepEqual(res.json(), UNAUTHORIZED, label)
}

/** Asserts a refresh answer is a full seven-field pair with the wire types; returns it. */
function assertPair(s: TestApp, res: Awaited<ReturnType<TestApp['request']>>, ttl = 7776000): Promise<TokenBody> {
  return assertTokens(s, res, { accessMethod: 'password', ttl })
}

/** The ids of a user's logins with their revocation time, oldest first. */
async function loginsOf(s: TestApp, uid: number) {
  return s.database.db.selectFrom('logins').select(['id', 'revoked_at']).where('uid', '=', uid).orderBy('created_at').orderBy('id').execute()
}

async function loginIdOf(s: TestApp, token: string): Promise<string> {
  const row = await s.database.db.selectFrom('tokens').select('login_id').where('hash', '=', sha256(token)).executeTakeFirstOrThrow()
  return row.login_id
}

test('refreshtoken rotates the pair without a Bearer: new tokens every time, the old refresh token stops working', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const first = await s.login('maker@example.com')

  const second = await assertPair(s, await refresh(s, first.refreshToken))
  const third = await assertPair(s, await refresh(s, second.refreshToken))
  const all = [first, second, third].flatMap((p) => [p.accessToken, p.refreshToken])
  assert.equal(new Set(all).size, 6, 'every token handed out is new')

  // Every pair belongs to the one login; each refresh token was spent once.
  const loginId = await loginIdOf(s, first.accessToken)
  for (const token of all) assert.equal(await loginIdOf(s, token), loginId)
  const refreshRows = await s.database.db
    .selectFrom('tokens')
    .select(['hash', 'used_at'])
    .where('login_id', '=', loginId)
    .where('kind', '=', 'refresh')
    .execute()
  const usedAt = new Map(refreshRows.map((r) => [r.hash, r.used_at]))
  assert.equal(usedAt.get(sha256(first.refreshToken)), s.clock.ms)
  assert.equal(usedAt.get(sha256(second.refreshToken)), s.clock.ms)
  assert.equal(usedAt.get(sha256(third.refreshToken)), null)

  // The newest access token works, and so do the earlier ones, which have not expired.
  await assertAccessWorks(s, third.accessToken, 'maker@example.com', 'new access token')
  await assertAccessWorks(s, second.accessToken, 'maker@example.com', 'previous access token')
  await assertAccessWorks(s, first.accessToken, 'maker@example.com', 'first access token')

  s.clock.advance(10_000) // past REFRESH_REUSE_GRACE
  await assertRefreshRefused(s, second.refreshToken, 'the refresh token already exchanged')
})

test('the previous access token lives until its own expiry after a refresh; the new one until its own', async (t) => {
  const s = await startTestApp(t, { ACCESS_TOKEN_TTL: '120' })
  await s.createUser('maker@example.com')
  const first = await s.login('maker@example.com')
  const loginStart = s.clock.ms
  s.clock.advance(60_000)
  const second = await assertPair(s, await refresh(s, first.refreshToken), 120)

  const rows = await s.database.db.selectFrom('tokens').select(['hash', 'expires_at']).execute()
  const expiry = new Map(rows.map((r) => [r.hash, r.expires_at]))
  assert.equal(expiry.get(sha256(first.accessToken)), loginStart + 120_000)
  assert.equal(expiry.get(sha256(second.accessToken)), loginStart + 180_000)
  assert.equal(expiry.get(sha256(second.refreshToken)), loginStart + 180_000)

  s.clock.advance(59_000) // 119 s after the login
  await assertAccessWorks(s, first.accessToken, 'maker@example.com', 'previous access token before its expiry')
  await assertAccessWorks(s, second.accessToken, 'maker@example.com', 'new access token')

  s.clock.advance(2_000) // 121 s after the login
  await assertAccessRefused(s, first.accessToken, 'previous access token after its expiry')
  await assertAccessWorks(s, second.accessToken, 'maker@example.com', 'new access token after the old one expired')

  s.clock.advance(60_000) // 181 s after the login, 121 s after the refresh
  await assertAccessRefused(s, second.accessToken, 'new access token after its expiry')
})

test('presenting a used refresh token again revokes every token of that login, and only that login', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com')
  const phone = await s.login('maker@example.com')
  const laptop = await s.login('maker@example.com')

  const rotated = await assertPair(s, await refresh(s, phone.refreshToken))
  const newest = await assertPair(s, await refresh(s, rotated.refreshToken))
  await assertAccessWorks(s, newest.accessToken, 'maker@example.com', 'newest access token before the reuse')

  // The first refresh token leaked and is replayed, after REFRESH_REUSE_GRACE.
  s.clock.advance(10_000)
  await assertRefreshRefused(s, phone.refreshToken, 'replayed refresh token')

  await assertAccessRefused(s, newest.accessToken, 'newest access token after the reuse')
  await assertAccessRefused(s, rotated.accessToken, 'rotated access token after the reuse')
  await assertAccessRefused(s, phone.accessToken, 'first access token after the reuse')
  await assertRefreshRefused(s, newest.refreshToken, 'newest, never used refresh token after the reuse')

  const logins = await loginsOf(s, user.uid)
  assert.equal(logins.length, 2)
  const phoneLogin = await loginIdOf(s, phone.accessToken)
  const laptopLogin = await loginIdOf(s, laptop.accessToken)
  assert.notEqual(phoneLogin, laptopLogin)
  const revoked = new Map(logins.map((l) => [l.id, l.revoked_at]))
  assert.equal(revoked.get(phoneLogin), s.clock.ms)
  assert.equal(revoked.get(laptopLogin), null)

  // The other login of the same user carries on, refresh included.
  await assertAccessWorks(s, laptop.accessToken, 'maker@example.com', 'separate login')
  const laptopNext = await assertPair(s, await refresh(s, laptop.refreshToken))
  await assertAccessWorks(s, laptopNext.accessToken, 'maker@example.com', 'separate login after its refresh')
})

test('two parallel refreshes of one token both get a pair of the same login; both pairs work', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com')
  const first = await s.login('maker@example.com')

  const [a, b] = await Promise.all([refresh(s, first.refreshToken), refresh(s, first.refreshToken)])
  const pairA = await assertPair(s, a)
  const pairB = await assertPair(s, b)
  const all = [first, pairA, pairB].flatMap((p) => [p.accessToken, p.refreshToken])
  assert.equal(new Set(all).size, 6, 'every token handed out is new')
  const loginId = await loginIdOf(s, first.accessToken)
  for (const token of all) assert.equal(await loginIdOf(s, token), loginId)
  assert.deepEqual(await loginsOf(s, user.uid), [{ id: loginId, revoked_at: null }])

  // Both clients carry on, each with its own pair, refreshes included.
  await assertAccessWorks(s, pairA.accessToken, 'maker@example.com', 'first pair')
  await assertAccessWorks(s, pairB.accessToken, 'maker@example.com', 'second pair')
  const nextA = await assertPair(s, await refresh(s, pairA.refreshToken))
  const nextB = await assertPair(s, await refresh(s, pairB.refreshToken))
  await assertAccessWorks(s, nextA.accessToken, 'maker@example.com', 'first pair, refreshed')
  await assertAccessWorks(s, nextB.accessToken, 'maker@example.com', 'second pair, refreshed')
})

test('a used refresh token gets a pair for REFRESH_REUSE_GRACE seconds; used after that it revokes the login', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com')
  const first = await s.login('maker@example.com')
  const rotated = await assertPair(s, await refresh(s, first.refreshToken))

  s.clock.advance(9_999)
  const late = await assertPair(s, await refresh(s, first.refreshToken))
  assert.equal(await loginIdOf(s, late.accessToken), await loginIdOf(s, first.accessToken))
  await assertAccessWorks(s, late.accessToken, 'maker@example.com', 'pair from the reuse within the grace')

  s.clock.advance(1) // 10 s after the first use
  await assertRefreshRefused(s, first.refreshToken, 'reuse after the grace')
  const [login] = await loginsOf(s, user.uid)
  assert.equal(login!.revoked_at, s.clock.ms)
  for (const [label, pair] of Object.entries({ first, rotated, late })) {
    await assertAccessRefused(s, pair.accessToken, `${label} access token after the reuse`)
  }
  await assertRefreshRefused(s, rotated.refreshToken, 'rotated refresh token after the reuse')
  await assertRefreshRefused(s, late.refreshToken, 'late refresh token after the reuse')
})

test('with REFRESH_REUSE_GRACE 0 a used refresh token revokes the login at once, parallel refreshes too', async (t) => {
  const s = await startTestApp(t, { REFRESH_REUSE_GRACE: '0' })
  const user = await s.createUser('maker@example.com')
  const first = await s.login('maker@example.com')

  const answers = await Promise.all([refresh(s, first.refreshToken), refresh(s, first.refreshToken)])
  const statuses = answers.map((r) => r.statusCode).sort()
  assert.deepEqual(statuses, [200, 401], answers.map((r) => r.body).join(' | '))
  const winner = answers.find((r) => r.statusCode === 200)!.json() as TokenBody
  const [login] = await loginsOf(s, user.uid)
  assert.equal(login!.revoked_at, s.clock.ms)
  await assertAccessRefused(s, winner.accessToken, 'the winning pair after the reuse')
  await assertAccessRefused(s, first.accessToken, 'the first access token after the reuse')
})

test('an access token is no refresh token, and a refresh token is no access token', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const pair = await s.login('maker@example.com')
  await assertRefreshRefused(s, pair.accessToken, 'access token offered as a refresh token')
  await assertAccessRefused(s, pair.refreshToken, 'refresh token offered as an access token')
  await assertRefreshRefused(s, 'not-a-token-we-issued', 'unknown refresh token')
  // Neither mistake harmed the login.
  await assertAccessWorks(s, pair.accessToken, 'maker@example.com')
  await assertPair(s, await refresh(s, pair.refreshToken))
})

test('logout answers 200 {} and revokes that login’s access and refresh tokens, no other login’s', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com')
  const leaving = await s.login('maker@example.com')
  const staying = await s.login('maker@example.com')

  const res = await s.request({
    method: 'POST',
    url: '/v1/user-service/my/logout',
    headers: bearer(leaving.accessToken),
    payload: { refreshtoken: '' },
  })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), {})

  await assertAccessRefused(s, leaving.accessToken, 'logged-out access token')
  await assertRefreshRefused(s, leaving.refreshToken, 'logged-out refresh token')
  const again = await s.request({ method: 'POST', url: '/v1/user-service/my/logout', headers: bearer(leaving.accessToken), payload: { refreshtoken: '' } })
  assert.equal(again.statusCode, 401)
  assert.deepEqual(again.json(), UNAUTHORIZED)

  const revoked = new Map((await loginsOf(s, user.uid)).map((l) => [l.id, l.revoked_at]))
  assert.equal(revoked.get(await loginIdOf(s, leaving.accessToken)), s.clock.ms)
  assert.equal(revoked.get(await loginIdOf(s, staying.accessToken)), null)

  await assertAccessWorks(s, staying.accessToken, 'maker@example.com', 'other login')
  const next = await assertPair(s, await refresh(s, staying.refreshToken))
  await assertAccessWorks(s, next.accessToken, 'maker@example.com', 'other login after refresh')
})

test('with ACCESS_TOKEN_TTL 120, both tokens are dead 121 s after the login', async (t) => {
  const s = await startTestApp(t, { ACCESS_TOKEN_TTL: '120' })
  await s.createUser('maker@example.com')
  const pair = await s.login('maker@example.com')
  assert.equal(pair.expiresIn, 120)
  assert.equal(pair.refreshExpiresIn, 120)

  s.clock.advance(119_000)
  await assertAccessWorks(s, pair.accessToken, 'maker@example.com', 'access token at 119 s')

  s.clock.advance(2_000)
  await assertAccessRefused(s, pair.accessToken, 'access token at 121 s')
  await assertRefreshRefused(s, pair.refreshToken, 'refresh token at 121 s')
})

for (const format of ['opaque', 'jwt']) {
  test(`tokens (${format}) are stored only as SHA-256 hashes`, async (t) => {
    const s = await startTestApp(t, { TOKEN_FORMAT: format })
    await s.createUser('maker@example.com')
    const first = await s.login('maker@example.com')
    const second = await assertPair(s, await refresh(s, first.refreshToken))
    const issued: [string, 'access' | 'refresh'][] = [
      [first.accessToken, 'access'],
      [first.refreshToken, 'refresh'],
      [second.accessToken, 'access'],
      [second.refreshToken, 'refresh'],
    ]

    const rows = await s.database.db.selectFrom('tokens').select(['hash', 'kind', 'login_id']).execute()
    assert.equal(rows.length, 4)
    for (const row of rows) assert.match(row.hash, /^[0-9a-f]{64}$/)
    const kinds = new Map(rows.map((r) => [r.hash, r.kind]))
    for (const [token, kind] of issued) assert.equal(kinds.get(sha256(token)), kind, `the hash of the ${kind} token is stored`)

    // No table holds any token in plaintext.
    for (const table of TABLES) {
      const dump = JSON.stringify(await s.database.db.selectFrom(table).selectAll().execute())
      for (const [token, kind] of issued) assert.ok(!dump.includes(token), `${table} holds a plaintext ${kind} token`)
    }
  })
}

test('disabling a user kills its tokens and makes its login look like a wrong password; re-enabling lets it log in again', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com')
  await s.createUser('other@example.com')
  const a = await s.login('maker@example.com')
  const b = await s.login('maker@example.com')
  const other = await s.login('other@example.com')

  const res = await s.admin({ method: 'PATCH', url: `/admin/v1/users/${user.uid}`, payload: { disabled: true } })
  assert.equal(res.statusCode, 200)
  assert.equal(res.json().disabled, true)
  assert.equal((await s.database.db.selectFrom('users').select('disabled').where('uid', '=', user.uid).executeTakeFirstOrThrow()).disabled, 1)

  for (const [label, pair] of [['first login', a], ['second login', b]] as const) {
    await assertAccessRefused(s, pair.accessToken, `${label} access token`)
    await assertRefreshRefused(s, pair.refreshToken, `${label} refresh token`)
  }
  await assertAccessWorks(s, other.accessToken, 'other@example.com', 'another user')

  const disabledLogin = await passwordLogin(s, 'maker@example.com', PASSWORD)
  const wrongPassword = await passwordLogin(s, 'other@example.com', 'not the password')
  assert.equal(disabledLogin.statusCode, 400)
  assert.deepEqual(disabledLogin.json(), INCORRECT_PASSWORD)
  assert.equal(disabledLogin.body, wrongPassword.body)
  assert.equal(disabledLogin.headers['set-cookie'], undefined)

  const enabled = await s.admin({ method: 'PATCH', url: `/admin/v1/users/${user.uid}`, payload: { disabled: false } })
  assert.equal(enabled.statusCode, 200)
  assert.equal(enabled.json().disabled, false)
  const fresh = await s.login('maker@example.com')
  await assertAccessWorks(s, fresh.accessToken, 'maker@example.com', 'login after re-enabling')
  // The tokens revoked by disabling stay revoked.
  await assertAccessRefused(s, a.accessToken, 'token from before disabling, after re-enabling')
  await assertRefreshRefused(s, b.refreshToken, 'refresh token from before disabling, after re-enabling')
})

test('a password change revokes every token of the user; the new password works, the old gets code 2', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com')
  await s.createUser('other@example.com')
  const a = await s.login('maker@example.com')
  const rotated = await assertPair(s, await refresh(s, a.refreshToken))
  const b = await s.login('maker@example.com')
  const other = await s.login('other@example.com')

  const res = await s.admin({ method: 'PATCH', url: `/admin/v1/users/${user.uid}`, payload: { password: NEW_PASSWORD } })
  assert.equal(res.statusCode, 200)
  assert.ok(!res.body.includes(NEW_PASSWORD))

  for (const [label, pair] of [['rotated login', rotated], ['second login', b]] as const) {
    await assertAccessRefused(s, pair.accessToken, `${label} access token`)
    await assertRefreshRefused(s, pair.refreshToken, `${label} refresh token`)
  }
  await assertAccessRefused(s, a.accessToken, 'first access token')
  const logins = await loginsOf(s, user.uid)
  assert.equal(logins.length, 2)
  for (const l of logins) assert.equal(typeof l.revoked_at, 'number')
  await assertAccessWorks(s, other.accessToken, 'other@example.com', 'another user')

  const old = await passwordLogin(s, 'maker@example.com', PASSWORD)
  assert.equal(old.statusCode, 400)
  assert.deepEqual(old.json(), INCORRECT_PASSWORD)
  const fresh = await s.login('maker@example.com', NEW_PASSWORD)
  await assertAccessWorks(s, fresh.accessToken, 'maker@example.com', 'login with the new password')
})

test('deleting a user kills its tokens, removes its logins, and its login answers code 2', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com')
  await s.createUser('other@example.com')
  const a = await s.login('maker@example.com')
  const b = await s.login('maker@example.com')
  const other = await s.login('other@example.com')
  const loginIds = [await loginIdOf(s, a.accessToken), await loginIdOf(s, b.accessToken)]

  const res = await s.admin({ method: 'DELETE', url: `/admin/v1/users/${user.uid}` })
  assert.equal(res.statusCode, 204)
  assert.equal(res.body, '')

  for (const [label, pair] of [['first login', a], ['second login', b]] as const) {
    await assertAccessRefused(s, pair.accessToken, `${label} access token`)
    await assertRefreshRefused(s, pair.refreshToken, `${label} refresh token`)
  }
  assert.deepEqual(await loginsOf(s, user.uid), [])
  assert.deepEqual(await s.database.db.selectFrom('tokens').select('hash').where('login_id', 'in', loginIds).execute(), [])

  const login = await passwordLogin(s, 'maker@example.com', PASSWORD)
  assert.equal(login.statusCode, 400)
  assert.deepEqual(login.json(), INCORRECT_PASSWORD)
  await assertAccessWorks(s, other.accessToken, 'other@example.com', 'another user')
})
