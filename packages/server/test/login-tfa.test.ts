import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PASSWORD, authenticatorCode, bearer, cookiesOf, startTestApp, type TestApp, TOKEN_FIELDS, assertNextStep, assertTokens } from './helpers/app.ts'

const LOGIN_FAILED = { code: 5, error: 'Login failed' }
const TFA_KEY_TTL_MS = 5 * 60 * 1000
const ACCOUNT = 'guarded@example.com'

type Response = Awaited<ReturnType<TestApp['request']>>

/** A tfa-policy user; returns its authenticator secret. */
async function createTfaUser(s: TestApp, account = ACCOUNT): Promise<string> {
  const user = await s.createUser(account, { login_policy: 'tfa' })
  assert.equal(user.login_policy, 'tfa')
  assert.equal(typeof user.tfa_secret, 'string')
  assert.match(user.tfa_secret!, /^[A-Z2-7]{32}$/)
  return user.tfa_secret!
}

/** The first step: a password login, which must answer loginType "tfa"; returns the tfaKey. */
async function startTfa(s: TestApp, account = ACCOUNT): Promise<string> {
  const res = await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account, password: PASSWORD } })
  assert.equal(res.statusCode, 200, res.body)
  const body = res.json()
  assert.equal(body.loginType, 'tfa')
  assert.equal(typeof body.tfaKey, 'string')
  assert.ok(body.tfaKey.length > 0)
  return body.tfaKey
}

function tfaLogin(s: TestApp, tfaKey: string, tfaCode: string, url = '/v1/user-service/user/tfa/login') {
  return s.request({ method: 'POST', url, payload: { tfaKey, tfaCode } })
}

/** A 6-digit code the authenticator shows at none of the steps the server would accept now. */
function wrongCode(secret: string, s: TestApp): string {
  const near = [-1, 0, 1].map((o) => authenticatorCode(secret, s.clock, o))
  for (let n = 0; ; n++) {
    const candidate = String((n * 111111) % 1000000).padStart(6, '0')
    if (!near.includes(candidate)) return candidate
  }
}

function assertLoginFailed(res: Response, what: string) {
  assert.equal(res.statusCode, 400, what)
  assert.deepEqual(res.json(), LOGIN_FAILED, what)
  assert.equal(res.headers['set-cookie'], undefined, what)
}

/** Asserts a full token body from a TFA login and that its access token works; returns it. */
function assertTfaTokens(s: TestApp, res: Response, account = ACCOUNT) {
  return assertTokens(s, res, { accessMethod: 'tfa', account })
}

async function assertTokenWorks(s: TestApp, accessToken: string, account = ACCOUNT) {
  const profile = await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(accessToken) })
  assert.equal(profile.statusCode, 200)
  assert.equal(profile.json().account, account)
}

test('the admin create answer of a tfa account carries its base32 secret', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser(ACCOUNT, { login_policy: 'tfa' })
  assert.deepEqual(Object.keys(user).sort(), ['account', 'created_at', 'disabled', 'login_policy', 'name', 'tfa_secret', 'uid'])
  assert.match(user.tfa_secret!, /^[A-Z2-7]{32}$/)
  const plain = await s.createUser('maker@example.com')
  assert.equal(plain.tfa_secret, undefined)
})

test('password login of a tfa account answers loginType "tfa" with a tfaKey and no tokens', async (t) => {
  const s = await startTestApp(t)
  await createTfaUser(s)
  const res = await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: ACCOUNT, password: PASSWORD } })
  const tfaKey = assertNextStep(res, 'tfa')

  const other = await startTfa(s)
  assert.notEqual(other, tfaKey, 'each login gets its own key')
})

test('tfa/login with the key and the current code returns tokens in the body that work', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  await assertTfaTokens(s, await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock)))
})

test('tfa/login is served under /api/v1 too', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  await assertTfaTokens(s, await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock), '/api/v1/user-service/user/tfa/login'))
})

test('a spent key does not log in again, even with a new code', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  await assertTfaTokens(s, await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock)))
  s.clock.advance(30_000)
  assertLoginFailed(await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock)), 'spent key')
})

test('/api/sign-in/tfa returns the tokens only as cookies, and the cookie token works as Bearer', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  const res = await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock), '/api/sign-in/tfa')
  assert.equal(res.statusCode, 200, res.body)
  assert.deepEqual(res.json(), {})
  assert.ok(!res.body.includes('accessToken'))

  const cookies = cookiesOf(res)
  assert.deepEqual(Object.keys(cookies).sort(), ['refreshToken', 'token'])
  const token = cookies.token!
  const refresh = cookies.refreshToken!
  assert.ok(token.value.length >= 32)
  assert.ok(refresh.value.length >= 32)
  assert.notEqual(token.value, refresh.value)
  for (const c of [token, refresh]) {
    assert.ok(c.attributes.includes('HttpOnly'))
    assert.ok(c.attributes.includes('Path=/'))
    assert.ok(c.attributes.includes('Max-Age=7776000'))
  }
  await assertTokenWorks(s, token.value)

  const refreshed = await s.request({ method: 'POST', url: '/v1/user-service/user/refreshtoken', payload: { refreshToken: refresh.value } })
  assert.equal(refreshed.statusCode, 200)
  assert.equal(refreshed.json().accessMethod, 'tfa')
})

test('/api/sign-in/tfa fails with the same 400 body and sets no cookies', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  assertLoginFailed(await tfaLogin(s, tfaKey, wrongCode(secret, s), '/api/sign-in/tfa'), 'wrong code')
  assertLoginFailed(await tfaLogin(s, 'no-such-key', authenticatorCode(secret, s.clock), '/api/sign-in/tfa'), 'unknown key')
})

test('a wrong code, an unknown key and a code from 3 steps ago all get exactly 400 {"code":5,"error":"Login failed"}', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  assertLoginFailed(await tfaLogin(s, tfaKey, wrongCode(secret, s)), 'wrong code')
  assertLoginFailed(await tfaLogin(s, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', authenticatorCode(secret, s.clock)), 'unknown key')
  const stale = authenticatorCode(secret, s.clock, -3)
  if (![-1, 0, 1].some((o) => authenticatorCode(secret, s.clock, o) === stale)) {
    assertLoginFailed(await tfaLogin(s, tfaKey, stale), 'code from 3 steps ago')
  }
  const ahead = authenticatorCode(secret, s.clock, 3)
  if (![-1, 0, 1].some((o) => authenticatorCode(secret, s.clock, o) === ahead)) {
    assertLoginFailed(await tfaLogin(s, tfaKey, ahead), 'code from 3 steps ahead')
  }
  for (const malformed of ['', '12345', '1234567', 'abcdef']) {
    assertLoginFailed(await tfaLogin(s, tfaKey, malformed), JSON.stringify(malformed))
  }
})

test('a code from one step ago is accepted', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  await assertTfaTokens(s, await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock, -1)))
})

test('a code from one step ahead is accepted', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  await assertTfaTokens(s, await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock, 1)))
})

test('a code from two steps away is refused', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  const near = [-1, 0, 1].map((o) => authenticatorCode(secret, s.clock, o))
  for (const offset of [-2, 2]) {
    const code = authenticatorCode(secret, s.clock, offset)
    if (!near.includes(code)) assertLoginFailed(await tfaLogin(s, tfaKey, code), `offset ${offset}`)
  }
  await assertTfaTokens(s, await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock)))
})

test('a wrong code does not spend the key: the right code afterwards works', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  assertLoginFailed(await tfaLogin(s, tfaKey, wrongCode(secret, s)), 'wrong code')
  const stale = authenticatorCode(secret, s.clock, -3)
  if (!([-1, 0, 1].map((o) => authenticatorCode(secret, s.clock, o)).includes(stale))) {
    assertLoginFailed(await tfaLogin(s, tfaKey, stale), 'stale code')
  }
  await assertTfaTokens(s, await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock)))
})

test('four wrong codes leave the key usable', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  for (let i = 0; i < 4; i++) assertLoginFailed(await tfaLogin(s, tfaKey, wrongCode(secret, s)), `try ${i + 1}`)
  await assertTfaTokens(s, await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock)))
})

test('five wrong codes spend the key: the right code then fails', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  for (let i = 0; i < 5; i++) assertLoginFailed(await tfaLogin(s, tfaKey, wrongCode(secret, s)), `try ${i + 1}`)
  const code = authenticatorCode(secret, s.clock)
  assertLoginFailed(await tfaLogin(s, tfaKey, code), 'right code on a spent key')

  // The code itself was not used up: a new key takes it.
  const fresh = await startTfa(s)
  await assertTfaTokens(s, await tfaLogin(s, fresh, code))
})

test('the key is valid 5 minutes', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  s.clock.advance(TFA_KEY_TTL_MS + 1)
  const code = authenticatorCode(secret, s.clock)
  assertLoginFailed(await tfaLogin(s, tfaKey, code), 'expired key')

  // The code was right, and is still unused: a key issued now takes it.
  const fresh = await startTfa(s)
  await assertTfaTokens(s, await tfaLogin(s, fresh, code))
})

test('the key still works just before its 5 minutes are up', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const tfaKey = await startTfa(s)
  s.clock.advance(TFA_KEY_TTL_MS - 1)
  await assertTfaTokens(s, await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock)))
})

test('a TOTP code is accepted once; the next step’s code works', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const code = authenticatorCode(secret, s.clock)
  await assertTfaTokens(s, await tfaLogin(s, await startTfa(s), code))

  const second = await startTfa(s)
  assertLoginFailed(await tfaLogin(s, second, code), 'replayed code')
  // An older step than the accepted one is refused as well.
  const previous = authenticatorCode(secret, s.clock, -1)
  if (previous !== code) assertLoginFailed(await tfaLogin(s, second, previous), 'older step')

  s.clock.advance(30_000)
  const next = authenticatorCode(secret, s.clock)
  await assertTfaTokens(s, await tfaLogin(s, second, next))
})

test('a code used on the JSON API is not accepted again on /api/sign-in/tfa', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const code = authenticatorCode(secret, s.clock)
  await assertTfaTokens(s, await tfaLogin(s, await startTfa(s), code))
  assertLoginFailed(await tfaLogin(s, await startTfa(s), code, '/api/sign-in/tfa'), 'replayed on the web host')
})

test('/api/sign-in/form for a tfa account answers {"tfaKey"} and no cookies; the key finishes the login', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s)
  const res = await s.request({ method: 'POST', url: '/api/sign-in/form', payload: { account: ACCOUNT, password: PASSWORD } })
  assert.equal(res.statusCode, 200)
  const body = res.json()
  assert.deepEqual(Object.keys(body), ['tfaKey'])
  assert.equal(typeof body.tfaKey, 'string')
  assert.ok(body.tfaKey.length >= 16)
  assert.equal(res.headers['set-cookie'], undefined)

  const done = await tfaLogin(s, body.tfaKey, authenticatorCode(secret, s.clock), '/api/sign-in/tfa')
  assert.equal(done.statusCode, 200)
  assert.deepEqual(done.json(), {})
  await assertTokenWorks(s, cookiesOf(done).token!.value)
})

test('/api/sign-in/form for a password account answers {"tfaKey":""} with token cookies that work as Bearer', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const res = await s.request({ method: 'POST', url: '/api/sign-in/form', payload: { account: 'Maker@Example.com', password: PASSWORD } })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { tfaKey: '' })
  const cookies = cookiesOf(res)
  assert.deepEqual(Object.keys(cookies).sort(), ['refreshToken', 'token'])
  for (const c of [cookies.token!, cookies.refreshToken!]) {
    assert.ok(c.value.length >= 32)
    assert.ok(c.attributes.includes('HttpOnly'))
    assert.ok(c.attributes.includes('Path=/'))
    assert.ok(c.attributes.includes('Max-Age=7776000'))
    assert.ok(!c.attributes.includes('Secure'))
  }
  assert.notEqual(cookies.token!.value, cookies.refreshToken!.value)
  await assertTokenWorks(s, cookies.token!.value, 'maker@example.com')
  const refreshed = await s.request({ method: 'POST', url: '/v1/user-service/user/refreshtoken', payload: { refreshToken: cookies.refreshToken!.value } })
  assert.equal(refreshed.statusCode, 200)
  assert.equal(refreshed.json().accessMethod, 'password')
})

test('/api/sign-in/form with a wrong password or unknown account answers 400 Incorrect password', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  await createTfaUser(s)
  for (const account of ['maker@example.com', ACCOUNT, 'nobody@example.com']) {
    const res = await s.request({ method: 'POST', url: '/api/sign-in/form', payload: { account, password: 'not the password' } })
    assert.equal(res.statusCode, 400, account)
    assert.deepEqual(res.json(), { code: 2, error: 'Incorrect password' }, account)
    assert.equal(res.headers['set-cookie'], undefined, account)
  }
})
