import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ADMIN_TOKEN, PASSWORD, authenticatorCode, bearer, startTestApp, type TestApp } from './helpers/app.ts'
import { createTestDatabase } from './helpers/database.ts'
import { startServer, type ServerProcess } from './helpers/process.ts'

type Response = Awaited<ReturnType<TestApp['request']>>

const WINDOW_MS = 15 * 60 * 1000
const INCORRECT_PASSWORD = { code: 2, error: 'Incorrect password' }
const INCORRECT_CODE = { code: 2, error: 'Incorrect code' }
const CODE_EXPIRED = { code: 1, error: 'Code expired' }
const LOGIN_FAILED = { code: 5, error: 'Login failed' }

function passwordLogin(s: TestApp, account: string, password: string, remoteAddress?: string) {
  return s.request({
    method: 'POST',
    url: '/v1/user-service/user/login',
    payload: { account, password },
    ...(remoteAddress ? { remoteAddress } : {}),
  })
}

function codeLogin(s: TestApp, account: string, code: string) {
  return s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account, code } })
}

function tfaLogin(s: TestApp, tfaKey: string, tfaCode: string) {
  return s.request({ method: 'POST', url: '/v1/user-service/user/tfa/login', payload: { tfaKey, tfaCode } })
}

function sendEmailCode(s: TestApp, email: string) {
  return s.request({ method: 'POST', url: '/v1/user-service/user/sendemail/code', payload: { email, type: 'codeLogin' } })
}

/** Asserts a 429 in the envelope with an integer Retry-After of 1..900 s; returns the seconds. */
function assertTooMany(res: Response, label = 'response'): number {
  assert.equal(res.statusCode, 429, `${label}: ${res.body}`)
  const body = res.json()
  assert.equal(typeof body.code, 'number', label)
  assert.equal(typeof body.error, 'string', label)
  assert.ok(body.message === undefined || typeof body.message === 'string', label)
  for (const key of ['accessToken', 'refreshToken', 'tfaKey']) assert.equal(body[key], undefined, `${label} hands out no ${key}`)
  assert.equal(res.headers['set-cookie'], undefined, `${label} sets no cookie`)
  const retryAfter = res.headers['retry-after']
  assert.equal(typeof retryAfter, 'string', `${label} has Retry-After`)
  assert.match(retryAfter as string, /^\d+$/, label)
  const seconds = Number(retryAfter)
  assert.ok(seconds >= 1 && seconds <= 900, `${label}: Retry-After ${seconds}`)
  return seconds
}

/** Asserts a successful login answer with a working access token. */
async function assertLoggedIn(s: TestApp, res: Response, account: string, label = 'login') {
  assert.equal(res.statusCode, 200, `${label}: ${res.body}`)
  const { accessToken } = res.json()
  assert.equal(typeof accessToken, 'string')
  assert.ok(accessToken.length >= 32, label)
  const profile = await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(accessToken) })
  assert.equal(profile.statusCode, 200, label)
  assert.equal(profile.json().account, account, label)
}

/** A 6-digit code that is none of the given ones. */
function codeOtherThan(...codes: string[]): string {
  for (let n = 0; ; n++) {
    const candidate = String((n * 111111) % 1000000).padStart(6, '0')
    if (!codes.includes(candidate)) return candidate
  }
}

/** A TOTP code the authenticator would not accept now (none of the steps around now). */
function wrongTotp(s: TestApp, secret: string): string {
  return codeOtherThan(...[-2, -1, 0, 1, 2].map((offset) => authenticatorCode(secret, s.clock, offset)))
}

test('after N failed password logins the account answers 429 with Retry-After, even to the right password, until the window passes', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '3' })
  await s.createUser('alice@example.com')
  await s.createUser('bob@example.com')

  for (let i = 0; i < 3; i++) {
    const res = await passwordLogin(s, 'alice@example.com', `wrong password ${i}`)
    assert.equal(res.statusCode, 400, `failure ${i + 1}`)
    assert.deepEqual(res.json(), INCORRECT_PASSWORD)
  }
  const blocked = await passwordLogin(s, 'alice@example.com', PASSWORD)
  assert.equal(assertTooMany(blocked, 'right password after 3 failures'), 900)
  assertTooMany(await passwordLogin(s, 'alice@example.com', 'wrong again'), 'wrong password while blocked')
  // The account limit follows the account, in any letter case and from any address.
  assertTooMany(await passwordLogin(s, '  ALICE@Example.com ', PASSWORD), 'differently cased account')
  assertTooMany(await passwordLogin(s, 'alice@example.com', PASSWORD, '10.7.7.7'), 'another address')

  // Another account from the same address is not blocked by alice's limit.
  await assertLoggedIn(s, await passwordLogin(s, 'bob@example.com', PASSWORD), 'bob@example.com', 'bob')

  // Retry-After counts down with the clock and tells the truth.
  s.clock.advance(5 * 60 * 1000)
  const later = assertTooMany(await passwordLogin(s, 'alice@example.com', PASSWORD), 'five minutes later')
  assert.equal(later, 600)
  s.clock.advance(later * 1000 - 1000)
  assertTooMany(await passwordLogin(s, 'alice@example.com', PASSWORD), 'one second before the window ends')

  s.clock.advance(1000) // 15 minutes after the failures
  await assertLoggedIn(s, await passwordLogin(s, 'alice@example.com', PASSWORD), 'alice@example.com', 'alice after the window')
})

test('attempts refused with 429 do not count, and the window slides from the oldest failure', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '2' })
  await s.createUser('alice@example.com')
  assert.equal((await passwordLogin(s, 'alice@example.com', 'wrong 1')).statusCode, 400)
  s.clock.advance(60_000)
  assert.equal((await passwordLogin(s, 'alice@example.com', 'wrong 2')).statusCode, 400)
  s.clock.advance(60_000)
  for (let i = 0; i < 5; i++) {
    assert.equal(assertTooMany(await passwordLogin(s, 'alice@example.com', 'wrong while blocked'), `blocked try ${i + 1}`), 780)
  }
  // 15 minutes after the first failure it leaves the window, freeing one try; the refused
  // tries in between did not count.
  s.clock.advance(WINDOW_MS - 120_000)
  await assertLoggedIn(s, await passwordLogin(s, 'alice@example.com', PASSWORD), 'alice@example.com', 'once the first failure aged out')
})

test('failures across accounts from one address hit the per-address limit; another address is unaffected', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ADDRESS: '4', LOGIN_FAILURES_PER_ACCOUNT: '100' })
  const accounts = ['u0@example.com', 'u1@example.com', 'u2@example.com', 'u3@example.com']
  for (const account of accounts) await s.createUser(account)

  // Three accounts that exist and one that does not: each failure counts against the address.
  for (const account of ['u0@example.com', 'u1@example.com', 'u2@example.com', 'nobody@example.com']) {
    const res = await passwordLogin(s, account, 'not the password', '10.1.2.3')
    assert.equal(res.statusCode, 400, account)
    assert.deepEqual(res.json(), INCORRECT_PASSWORD)
  }

  assertTooMany(await passwordLogin(s, 'u3@example.com', PASSWORD, '10.1.2.3'), 'fresh account from the blocked address')
  assertTooMany(await passwordLogin(s, 'u0@example.com', PASSWORD, '10.1.2.3'), 'right password from the blocked address')
  await assertLoggedIn(s, await passwordLogin(s, 'u3@example.com', PASSWORD, '10.9.9.9'), 'u3@example.com', 'another address')
  await assertLoggedIn(s, await passwordLogin(s, 'u0@example.com', PASSWORD, '10.9.9.9'), 'u0@example.com', 'a failed account from another address')

  s.clock.advance(WINDOW_MS)
  await assertLoggedIn(s, await passwordLogin(s, 'u3@example.com', PASSWORD, '10.1.2.3'), 'u3@example.com', 'the address after the window')
})

test('failed code logins count against the account, wrong and expired codes alike', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '3' })
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  await s.createUser('nocode@example.com')

  assert.equal((await sendEmailCode(s, 'coder@example.com')).statusCode, 200)
  const code = await s.latestCode('coder@example.com')
  for (let i = 0; i < 3; i++) {
    const res = await codeLogin(s, 'coder@example.com', codeOtherThan(code))
    assert.equal(res.statusCode, 400, `wrong code ${i + 1}`)
    assert.deepEqual(res.json(), INCORRECT_CODE)
  }
  assertTooMany(await codeLogin(s, 'coder@example.com', code), 'the right code after 3 wrong ones')
  // The same account limit covers password logins.
  assertTooMany(await passwordLogin(s, 'coder@example.com', PASSWORD), 'password login of the blocked account')

  // A code login with no live code is a failure too.
  for (let i = 0; i < 3; i++) {
    const res = await codeLogin(s, 'nocode@example.com', '123456')
    assert.equal(res.statusCode, 400, `expired code ${i + 1}`)
    assert.deepEqual(res.json(), CODE_EXPIRED)
  }
  assertTooMany(await passwordLogin(s, 'nocode@example.com', PASSWORD), 'password login after 3 expired-code tries')

  s.clock.advance(WINDOW_MS)
  await assertLoggedIn(s, await passwordLogin(s, 'nocode@example.com', PASSWORD), 'nocode@example.com', 'after the window')
  assert.equal((await sendEmailCode(s, 'coder@example.com')).statusCode, 200)
  await assertLoggedIn(s, await codeLogin(s, 'coder@example.com', await s.latestCode('coder@example.com')), 'coder@example.com', 'code login after the window')
})

test('failed TFA tries count against the account', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '3' })
  const user = await s.createUser('guarded@example.com', { login_policy: 'tfa' })
  const secret = user.tfa_secret!

  const first = await passwordLogin(s, 'guarded@example.com', PASSWORD)
  assert.equal(first.statusCode, 200)
  assert.equal(first.json().loginType, 'tfa')
  const { tfaKey } = first.json()
  for (let i = 0; i < 3; i++) {
    const res = await tfaLogin(s, tfaKey, wrongTotp(s, secret))
    assert.equal(res.statusCode, 400, `wrong TFA code ${i + 1}`)
    assert.deepEqual(res.json(), LOGIN_FAILED)
  }
  assertTooMany(await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock)), 'the right TFA code after 3 wrong ones')
  assertTooMany(await passwordLogin(s, 'guarded@example.com', PASSWORD), 'password step of the blocked account')

  s.clock.advance(WINDOW_MS)
  const again = await passwordLogin(s, 'guarded@example.com', PASSWORD)
  assert.equal(again.statusCode, 200)
  assert.equal(again.json().loginType, 'tfa')
  const done = await tfaLogin(s, again.json().tfaKey, authenticatorCode(secret, s.clock))
  await assertLoggedIn(s, done, 'guarded@example.com', 'TFA after the window')
})

test('the 6th code send for one account within the window answers 429 with Retry-After', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  await s.createUser('other@example.com', { login_policy: 'email_code' })

  const outboxSize = async (account: string) =>
    (await s.database.db.selectFrom('outbox').select('id').where('account', '=', account).execute()).length

  // The account is counted however it is written.
  for (const email of ['coder@example.com', 'Coder@Example.com', 'coder@example.com', ' CODER@example.com', 'coder@example.com']) {
    const res = await sendEmailCode(s, email)
    assert.equal(res.statusCode, 200, email)
    assert.deepEqual(res.json(), {})
    s.clock.advance(1000)
  }
  assert.equal(await outboxSize('coder@example.com'), 5)

  const sixth = await sendEmailCode(s, 'coder@example.com')
  assert.equal(assertTooMany(sixth, '6th send'), 895)
  assert.equal(await outboxSize('coder@example.com'), 5, 'no 6th code was sent')

  // Another account is not affected.
  assert.equal((await sendEmailCode(s, 'other@example.com')).statusCode, 200)
  assert.equal(await outboxSize('other@example.com'), 1)

  // An unknown account is limited just the same, so a 429 tells nothing about existence.
  for (let i = 0; i < 5; i++) assert.equal((await sendEmailCode(s, 'nobody@example.com')).statusCode, 200)
  assertTooMany(await sendEmailCode(s, 'nobody@example.com'), '6th send to an unknown account')

  s.clock.advance(WINDOW_MS)
  assert.equal((await sendEmailCode(s, 'coder@example.com')).statusCode, 200)
  assert.equal(await outboxSize('coder@example.com'), 6)
})

/** How many answers had each status. */
function countStatuses(responses: Response[]): Record<number, number> {
  const counts: Record<number, number> = {}
  for (const res of responses) counts[res.statusCode] = (counts[res.statusCode] ?? 0) + 1
  return counts
}

/** The failures the guard holds for a bucket. */
async function recordedAttempts(s: TestApp, bucket: string): Promise<number> {
  return (await s.database.db.selectFrom('rate_events').select('id').where('bucket', '=', bucket).execute()).length
}

test('parallel wrong passwords: only LOGIN_FAILURES_PER_ACCOUNT are checked; the rest, and then the right password, get 429', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '5' })
  await s.createUser('alice@example.com')

  const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => passwordLogin(s, 'alice@example.com', `wrong password ${i}`)))
  assert.deepEqual(countStatuses(answers), { 400: 5, 429: 10 })
  for (const res of answers) {
    if (res.statusCode === 400) assert.deepEqual(res.json(), INCORRECT_PASSWORD)
    else assertTooMany(res, 'parallel guess past the limit')
  }
  assert.equal(await recordedAttempts(s, 'fail:acct:alice@example.com'), 5)
  assertTooMany(await passwordLogin(s, 'alice@example.com', PASSWORD), 'the right password after the burst')
})

test('a right password among parallel wrong ones: no more than the limit of wrong ones is checked, and the success counts as no failure', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '5' })
  await s.createUser('alice@example.com')

  const guesses = Array.from({ length: 15 }, (_, i) => `wrong password ${i}`)
  guesses.splice(7, 0, PASSWORD)
  const answers = await Promise.all(guesses.map((password) => passwordLogin(s, 'alice@example.com', password)))
  const counts = countStatuses(answers)
  assert.ok((counts[400] ?? 0) <= 5, JSON.stringify(counts))
  assert.equal((counts[400] ?? 0) + (counts[429] ?? 0) + (counts[200] ?? 0), 16, JSON.stringify(counts))
  // Whatever the order, only the wrong passwords that were checked are held against the account.
  assert.equal(await recordedAttempts(s, 'fail:acct:alice@example.com'), counts[400] ?? 0)
})

test('a correct login gives its slot back: it does not count as a failure', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '3' })
  await s.createUser('alice@example.com')
  for (const password of ['wrong 1', 'wrong 2', PASSWORD, PASSWORD, 'wrong 3']) {
    const res = await passwordLogin(s, 'alice@example.com', password)
    if (password === PASSWORD) await assertLoggedIn(s, res, 'alice@example.com', 'right password between wrong ones')
    else assert.deepEqual([res.statusCode, res.json()], [400, INCORRECT_PASSWORD], password)
  }
  assert.equal(await recordedAttempts(s, 'fail:acct:alice@example.com'), 3)
  assertTooMany(await passwordLogin(s, 'alice@example.com', PASSWORD), 'after the third failure')
})

test('parallel wrong codes: one code takes at most 5 tries, then even the right one is expired', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '100' })
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  assert.equal((await sendEmailCode(s, 'coder@example.com')).statusCode, 200)
  const code = await s.latestCode('coder@example.com')

  const answers = await Promise.all(Array.from({ length: 15 }, () => codeLogin(s, 'coder@example.com', codeOtherThan(code))))
  const bodies = answers.map((res) => JSON.stringify([res.statusCode, res.json()]))
  assert.equal(bodies.filter((b) => b === JSON.stringify([400, INCORRECT_CODE])).length, 5, bodies.join('\n'))
  assert.equal(bodies.filter((b) => b === JSON.stringify([400, CODE_EXPIRED])).length, 10, bodies.join('\n'))
  const rows = await s.database.db.selectFrom('login_codes').select(['failures', 'spent_at']).execute()
  assert.deepEqual(rows, [{ failures: 5, spent_at: null }])
  const late = await codeLogin(s, 'coder@example.com', code)
  assert.deepEqual([late.statusCode, late.json()], [400, CODE_EXPIRED])
})

test('parallel wrong codes: only LOGIN_FAILURES_PER_ACCOUNT are checked; then the right code gets 429', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '3' })
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  assert.equal((await sendEmailCode(s, 'coder@example.com')).statusCode, 200)
  const code = await s.latestCode('coder@example.com')

  const answers = await Promise.all(Array.from({ length: 9 }, () => codeLogin(s, 'coder@example.com', codeOtherThan(code))))
  assert.deepEqual(countStatuses(answers), { 400: 3, 429: 6 })
  for (const res of answers) if (res.statusCode === 400) assert.deepEqual(res.json(), INCORRECT_CODE)
  assert.equal(await recordedAttempts(s, 'fail:acct:coder@example.com'), 3)
  const rows = await s.database.db.selectFrom('login_codes').select('failures').execute()
  assert.deepEqual(rows, [{ failures: 3 }])
  assertTooMany(await codeLogin(s, 'coder@example.com', code), 'the right code after the burst')
})

test('parallel wrong TFA codes: one tfaKey takes at most 5 tries, then even the right code fails', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '100' })
  const user = await s.createUser('guarded@example.com', { login_policy: 'tfa' })
  const secret = user.tfa_secret!
  const { tfaKey } = (await passwordLogin(s, 'guarded@example.com', PASSWORD)).json()

  const answers = await Promise.all(Array.from({ length: 15 }, () => tfaLogin(s, tfaKey, wrongTotp(s, secret))))
  for (const res of answers) assert.deepEqual([res.statusCode, res.json()], [400, LOGIN_FAILED])
  const rows = await s.database.db.selectFrom('tfa_challenges').select(['failures', 'spent_at']).execute()
  assert.deepEqual(rows, [{ failures: 5, spent_at: null }])
  const late = await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock))
  assert.deepEqual([late.statusCode, late.json()], [400, LOGIN_FAILED])

  // A new challenge takes the right code.
  const again = (await passwordLogin(s, 'guarded@example.com', PASSWORD)).json()
  await assertLoggedIn(s, await tfaLogin(s, again.tfaKey, authenticatorCode(secret, s.clock)), 'guarded@example.com', 'a new challenge')
})

test('parallel wrong TFA codes: only LOGIN_FAILURES_PER_ACCOUNT are checked; then the right code gets 429', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '3' })
  const user = await s.createUser('guarded@example.com', { login_policy: 'tfa' })
  const secret = user.tfa_secret!
  const { tfaKey } = (await passwordLogin(s, 'guarded@example.com', PASSWORD)).json()

  const answers = await Promise.all(Array.from({ length: 9 }, () => tfaLogin(s, tfaKey, wrongTotp(s, secret))))
  assert.deepEqual(countStatuses(answers), { 400: 3, 429: 6 })
  for (const res of answers) if (res.statusCode === 400) assert.deepEqual(res.json(), LOGIN_FAILED)
  // The password step gave its slot back; the three wrong codes hold theirs.
  assert.equal(await recordedAttempts(s, 'fail:acct:guarded@example.com'), 3)
  const rows = await s.database.db.selectFrom('tfa_challenges').select('failures').execute()
  assert.deepEqual(rows, [{ failures: 3 }])
  assertTooMany(await tfaLogin(s, tfaKey, authenticatorCode(secret, s.clock)), 'the right TFA code after the burst')
})

test('parallel code sends never exceed CODE_SENDS_PER_ACCOUNT', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })

  const answers = await Promise.all(Array.from({ length: 15 }, () => sendEmailCode(s, 'coder@example.com')))
  assert.deepEqual(countStatuses(answers), { 200: 5, 429: 10 })
  for (const res of answers) if (res.statusCode === 429) assertTooMany(res, 'send past the limit')
  const outbox = await s.database.db.selectFrom('outbox').select('id').where('account', '=', 'coder@example.com').execute()
  assert.equal(outbox.length, 5)
  assert.equal((await s.database.db.selectFrom('login_codes').select('id').execute()).length, 5)
})

test('two server processes on one database share the limit: parallel wrong passwords sent to both are checked only LOGIN_FAILURES_PER_ACCOUNT times', async (t) => {
  const db = await createTestDatabase()
  const servers: ServerProcess[] = []
  t.after(async () => {
    for (const server of servers) await server.stop('SIGKILL')
    await db.drop()
  })
  const env = { DATA_DIR: db.dataDir, DATABASE_URL: db.url, ADMIN_TOKEN, LOGIN_FAILURES_PER_ACCOUNT: '5' }
  for (let i = 0; i < 2; i++) servers.push(await startServer(env))
  const created = await fetch(servers[0]!.url('/admin/v1/users'), {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ account: 'alice@example.com', password: PASSWORD }),
  })
  assert.equal(created.status, 201)

  const login = (server: ServerProcess, password: string) =>
    fetch(server.url('/v1/user-service/user/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ account: 'alice@example.com', password }),
    })
  const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => login(servers[i % 2]!, `wrong password ${i}`)))
  const counts: Record<number, number> = {}
  for (const res of answers) counts[res.status] = (counts[res.status] ?? 0) + 1
  assert.deepEqual(counts, { 400: 5, 429: 11 })
  for (const server of servers) {
    const res = await login(server, PASSWORD)
    assert.equal(res.status, 429)
    assert.match(res.headers.get('retry-after') ?? '', /^\d+$/)
  }
})
