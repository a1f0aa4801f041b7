import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PASSWORD, bearer, cookiesOf, startTestApp, type TestApp, TOKEN_FIELDS, assertNextStep, assertTokens } from './helpers/app.ts'

const CODE_EXPIRED = { code: 1, error: 'Code expired' }
const INCORRECT_CODE = { code: 2, error: 'Incorrect code' }
const CODE_TTL_MS = 5 * 60 * 1000

interface OutboxMessage {
  account: string
  kind: string
  code: string
  created_at: string
}

/** The outbox through the admin API, newest first; every account's when none is named. */
async function outbox(s: TestApp, account?: string): Promise<OutboxMessage[]> {
  const url = account === undefined ? '/admin/v1/outbox' : `/admin/v1/outbox?account=${encodeURIComponent(account)}`
  const res = await s.admin({ method: 'GET', url })
  assert.equal(res.statusCode, 200)
  return (res.json() as { messages: OutboxMessage[] }).messages
}

/** A 6-digit code that is none of the given ones. */
function wrongCodeFor(...codes: string[]): string {
  for (let n = 0; ; n++) {
    const candidate = String(n * 111111 % 1000000).padStart(6, '0')
    if (!codes.includes(candidate)) return candidate
  }
}

function codeLogin(s: TestApp, account: string, code: string, prefix = '') {
  return s.request({ method: 'POST', url: `${prefix}/v1/user-service/user/login`, payload: { account, code } })
}

function sendEmailCode(s: TestApp, email: string, prefix = '') {
  return s.request({ method: 'POST', url: `${prefix}/v1/user-service/user/sendemail/code`, payload: { email, type: 'codeLogin' } })
}

function sendSmsCode(s: TestApp, phone: string, prefix = '') {
  return s.request({ method: 'POST', url: `${prefix}/v1/user-service/user/sendsmscode`, payload: { phone, type: 'codeLogin' } })
}

/** Asserts a full token body from a code login and that its access token works; returns it. */
function assertCodeTokens(s: TestApp, res: Awaited<ReturnType<TestApp['request']>>, account: string) {
  return assertTokens(s, res, { accessMethod: 'code', account })
}

test('password login of an email_code account answers verifyCode with empty tokens and mails a code', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  assert.deepEqual(await outbox(s), [])
  const res = await s.request({
    method: 'POST',
    url: '/v1/user-service/user/login',
    payload: { account: 'Coder@Example.com', password: PASSWORD },
  })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), {
    accessToken: '',
    refreshToken: '',
    expiresIn: 0,
    refreshExpiresIn: 0,
    tfaKey: '',
    accessMethod: '',
    loginType: 'verifyCode',
    success: true,
  })
  assert.deepEqual(Object.keys(res.json()).sort(), [...TOKEN_FIELDS].sort())
  assert.equal(res.headers['set-cookie'], undefined)

  const messages = await outbox(s, 'coder@example.com')
  assert.equal(messages.length, 1)
  const [message] = messages
  assert.equal(message!.account, 'coder@example.com')
  assert.equal(message!.kind, 'email_code')
  assert.match(message!.code, /^\d{6}$/)
  assert.equal(typeof message!.created_at, 'string')
  assert.equal(await s.latestCode('coder@example.com'), message!.code)
})

test('a wrong password on an email_code account sends no code', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  const res = await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'coder@example.com', password: 'not the password' } })
  assert.equal(res.statusCode, 400)
  assert.deepEqual(res.json(), { code: 2, error: 'Incorrect password' })
  assert.deepEqual(await outbox(s), [])
})

test('the emailed code logs in with accessMethod "code", and the token works', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  await s.login('coder@example.com')
  const code = await s.latestCode('coder@example.com')
  const res = await codeLogin(s, 'coder@example.com', code)
  const body = await assertCodeTokens(s, res, 'coder@example.com')
  const cookies = cookiesOf(res)
  assert.equal(cookies.token?.value, body.accessToken)
  assert.equal(cookies.refreshToken?.value, body.refreshToken)
})

test('the sign-in form answers verifyCode without cookies for an email_code account', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  const res = await s.request({ method: 'POST', url: '/api/sign-in/form', payload: { account: 'coder@example.com', password: PASSWORD } })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { tfaKey: '', loginType: 'verifyCode' })
  assert.equal(res.headers['set-cookie'], undefined)
  const messages = await outbox(s, 'coder@example.com')
  assert.equal(messages.length, 1)
  assert.equal(messages[0]!.kind, 'email_code')
})

test('sendemail/code answers 200 {} and puts a new email code in the outbox, on /v1 and /api/v1', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  const first = await sendEmailCode(s, 'coder@example.com')
  assert.equal(first.statusCode, 200)
  assert.deepEqual(first.json(), {})
  let messages = await outbox(s, 'coder@example.com')
  assert.equal(messages.length, 1)
  assert.equal(messages[0]!.kind, 'email_code')
  assert.match(messages[0]!.code, /^\d{6}$/)

  const second = await sendEmailCode(s, 'coder@example.com', '/api')
  assert.equal(second.statusCode, 200)
  assert.deepEqual(second.json(), {})
  messages = await outbox(s, 'coder@example.com')
  assert.equal(messages.length, 2)
  assert.equal(messages[0]!.kind, 'email_code')
  assert.match(messages[0]!.code, /^\d{6}$/)

  await assertCodeTokens(s, await codeLogin(s, 'coder@example.com', messages[0]!.code, '/api'), 'coder@example.com')
})

test('sendsmscode answers 200 {} and puts a new sms code in the outbox, on /v1 and /api/v1', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('+15551234567', { login_policy: 'email_code' })
  const first = await sendSmsCode(s, '+15551234567')
  assert.equal(first.statusCode, 200)
  assert.deepEqual(first.json(), {})
  let messages = await outbox(s, '+15551234567')
  assert.equal(messages.length, 1)
  assert.equal(messages[0]!.account, '+15551234567')
  assert.equal(messages[0]!.kind, 'sms_code')
  assert.match(messages[0]!.code, /^\d{6}$/)

  const second = await sendSmsCode(s, '+15551234567', '/api')
  assert.equal(second.statusCode, 200)
  assert.deepEqual(second.json(), {})
  messages = await outbox(s, '+15551234567')
  assert.equal(messages.length, 2)
  assert.equal(messages[0]!.kind, 'sms_code')

  await assertCodeTokens(s, await codeLogin(s, '+15551234567', messages[0]!.code), '+15551234567')
})

test('a code send for an unknown account answers the same 200 and puts nothing in the outbox', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  const known = await sendEmailCode(s, 'coder@example.com')
  const email = await sendEmailCode(s, 'nobody@example.com')
  const sms = await sendSmsCode(s, '+15550000000')
  const apiEmail = await sendEmailCode(s, 'nobody@example.com', '/api')
  for (const res of [email, sms, apiEmail]) {
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), {})
    assert.equal(res.body, known.body)
  }
  assert.deepEqual(await outbox(s, 'nobody@example.com'), [])
  assert.deepEqual(await outbox(s, '+15550000000'), [])
  const all = await outbox(s)
  assert.equal(all.length, 1)
  assert.equal(all[0]!.account, 'coder@example.com')
})

test('a code login for an unknown account is the same 400 as an expired code', async (t) => {
  const s = await startTestApp(t)
  const res = await codeLogin(s, 'nobody@example.com', '123456')
  assert.equal(res.statusCode, 400)
  assert.deepEqual(res.json(), CODE_EXPIRED)
  assert.equal(res.headers['set-cookie'], undefined)
})

test('a resend keeps earlier codes live; logging in with one spends them all', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  await s.login('coder@example.com')
  assert.equal((await sendEmailCode(s, 'coder@example.com')).statusCode, 200)
  const [second, first] = await outbox(s, 'coder@example.com')
  assert.ok(first && second)

  await assertCodeTokens(s, await codeLogin(s, 'coder@example.com', first.code), 'coder@example.com')

  const again = await codeLogin(s, 'coder@example.com', second.code)
  assert.equal(again.statusCode, 400)
  assert.deepEqual(again.json(), CODE_EXPIRED)
  const reused = await codeLogin(s, 'coder@example.com', first.code)
  assert.equal(reused.statusCode, 400)
  assert.deepEqual(reused.json(), CODE_EXPIRED)
})

test('the newer of two codes works too, and spends the older one', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  await s.login('coder@example.com')
  await sendEmailCode(s, 'coder@example.com')
  const [second, first] = await outbox(s, 'coder@example.com')
  assert.ok(first && second)
  await assertCodeTokens(s, await codeLogin(s, 'coder@example.com', second.code), 'coder@example.com')
  const old = await codeLogin(s, 'coder@example.com', first.code)
  assert.equal(old.statusCode, 400)
  assert.deepEqual(old.json(), CODE_EXPIRED)
})

test('a code lives 5 minutes', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  await s.login('coder@example.com')
  const code = await s.latestCode('coder@example.com')
  s.clock.advance(CODE_TTL_MS + 1)
  const expired = await codeLogin(s, 'coder@example.com', code)
  assert.equal(expired.statusCode, 400)
  assert.deepEqual(expired.json(), CODE_EXPIRED)
  assert.equal(expired.headers['set-cookie'], undefined)

  // A code sent now lives its own 5 minutes from now.
  await sendEmailCode(s, 'coder@example.com')
  const fresh = await s.latestCode('coder@example.com')
  s.clock.advance(CODE_TTL_MS - 1000)
  await assertCodeTokens(s, await codeLogin(s, 'coder@example.com', fresh), 'coder@example.com')
})

test('a code still works just before its 5 minutes are up', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  await s.login('coder@example.com')
  const code = await s.latestCode('coder@example.com')
  s.clock.advance(CODE_TTL_MS - 1)
  await assertCodeTokens(s, await codeLogin(s, 'coder@example.com', code), 'coder@example.com')
})

test('a wrong code gets 400 code 2 and leaves the right one working', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  await s.login('coder@example.com')
  const code = await s.latestCode('coder@example.com')
  const wrong = await codeLogin(s, 'coder@example.com', wrongCodeFor(code))
  assert.equal(wrong.statusCode, 400)
  assert.deepEqual(wrong.json(), INCORRECT_CODE)
  assert.equal(wrong.headers['set-cookie'], undefined)
  await assertCodeTokens(s, await codeLogin(s, 'coder@example.com', code), 'coder@example.com')
})

test('after 5 wrong tries even the right code is expired', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  await s.login('coder@example.com')
  const code = await s.latestCode('coder@example.com')
  const wrong = wrongCodeFor(code)
  for (let i = 0; i < 5; i++) {
    const res = await codeLogin(s, 'coder@example.com', wrong)
    assert.equal(res.statusCode, 400, `try ${i + 1}`)
    assert.deepEqual(res.json(), INCORRECT_CODE, `try ${i + 1}`)
  }
  const right = await codeLogin(s, 'coder@example.com', code)
  assert.equal(right.statusCode, 400)
  assert.deepEqual(right.json(), CODE_EXPIRED)

  // A fresh code is not burdened by the old one's failures.
  await sendEmailCode(s, 'coder@example.com')
  await assertCodeTokens(s, await codeLogin(s, 'coder@example.com', await s.latestCode('coder@example.com')), 'coder@example.com')
})

test('four wrong tries still leave the right code working', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  await s.login('coder@example.com')
  const code = await s.latestCode('coder@example.com')
  const wrong = wrongCodeFor(code)
  for (let i = 0; i < 4; i++) assert.deepEqual((await codeLogin(s, 'coder@example.com', wrong)).json(), INCORRECT_CODE)
  await assertCodeTokens(s, await codeLogin(s, 'coder@example.com', code), 'coder@example.com')
})

test('a code login also works for a password-policy account after sendemail/code', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const send = await sendEmailCode(s, 'Maker@Example.com')
  assert.equal(send.statusCode, 200)
  const [message] = await outbox(s, 'maker@example.com')
  assert.equal(message?.kind, 'email_code')
  await assertCodeTokens(s, await codeLogin(s, 'maker@example.com', message!.code), 'maker@example.com')
})

test('a code login for a password-policy account with no code sent is expired', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  await s.login('maker@example.com')
  const res = await codeLogin(s, 'maker@example.com', '123456')
  assert.equal(res.statusCode, 400)
  assert.deepEqual(res.json(), CODE_EXPIRED)
})

test('a code login for a tfa account still asks for the TFA step', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('guarded@example.com', { login_policy: 'tfa' })
  await sendEmailCode(s, 'guarded@example.com')
  assertNextStep(await codeLogin(s, 'guarded@example.com', await s.latestCode('guarded@example.com')), 'tfa')
})

test('an expired code reads as expired (code 1) even while a newer code is live, and does not burn the live one', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('stale@example.com', { login_policy: 'email_code' })
  await s.request({ method: 'POST', url: '/v1/user-service/user/sendemail/code', payload: { email: 'stale@example.com', type: 'codeLogin' } })
  const old = await s.latestCode('stale@example.com')
  s.clock.advance(5 * 60 * 1000 + 1)
  await s.request({ method: 'POST', url: '/v1/user-service/user/sendemail/code', payload: { email: 'stale@example.com', type: 'codeLogin' } })
  const fresh = await s.latestCode('stale@example.com')
  assert.notEqual(old, fresh)
  for (let i = 0; i < 5; i++) {
    const res = await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'stale@example.com', code: old } })
    assert.equal(res.statusCode, 400)
    assert.deepEqual(res.json(), { code: 1, error: 'Code expired' })
  }
  const ok = await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'stale@example.com', code: fresh } })
  assert.equal(ok.statusCode, 200)
  assert.equal(ok.json().accessMethod, 'code')
})
