/**
 * Answers carrying tokens, tickets or token cookies say `Cache-Control: no-store`, so no
 * browser or proxy keeps them; the sign-in page may not be framed by another site.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { LightMyRequestResponse } from 'fastify'
import { PASSWORD, authenticatorCode, bearer, cookiesOf, startTestApp } from './helpers/app.ts'

const STUDIO_UA = 'BBL-Slicer/v01.09.00.00 (Windows 10) Mozilla/5.0'
/** A post of the page's own form, with its CSRF token as field and cookie (any value that matches). */
const CSRF = 'x'.repeat(43)
const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `bbl_csrf_token=${CSRF}` },
  payload: new URLSearchParams({ csrf: CSRF, ...fields }).toString(),
})

/** What in an answer is a credential: tokens or a ticket in the body, token cookies, a ticket in the redirect. */
function credentialsIn(res: LightMyRequestResponse): string[] {
  const found: string[] = Object.keys(cookiesOf(res)).filter((name) => name === 'token' || name === 'refreshToken')
  if (/ticket=/.test(String(res.headers.location ?? ''))) found.push('ticket in Location')
  if (/^application\/json/.test(String(res.headers['content-type']))) {
    const body = res.json() as Record<string, unknown>
    for (const field of ['accessToken', 'refreshToken', 'ticket', 'tfaKey']) if (typeof body[field] === 'string' && body[field] !== '') found.push(field)
  }
  // The slicer's window gets its tokens in the page's user_login message.
  if (/^text\/html/.test(String(res.headers['content-type'])) && res.body.includes('user_login')) found.push('user_login message')
  return found
}

test('every answer that carries tokens, a ticket or token cookies says Cache-Control: no-store', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('plain@example.com')
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  const secret = (await s.createUser('guarded@example.com', { login_policy: 'tfa' })).tfa_secret!
  const answers: Record<string, LightMyRequestResponse> = {}
  const post = (url: string, payload: object, headers: Record<string, string> = {}) => s.request({ method: 'POST', url, payload, headers })

  answers['login with a password'] = await post('/v1/user-service/user/login', { account: 'plain@example.com', password: PASSWORD })
  const { accessToken, refreshToken } = answers['login with a password'].json()
  answers['login asking for a TFA code (tfaKey)'] = await post('/v1/user-service/user/login', { account: 'guarded@example.com', password: PASSWORD })
  answers['TFA login'] = await post('/v1/user-service/user/tfa/login', {
    tfaKey: answers['login asking for a TFA code (tfaKey)'].json().tfaKey,
    tfaCode: authenticatorCode(secret, s.clock),
  })
  await post('/v1/user-service/user/login', { account: 'coder@example.com', password: PASSWORD })
  answers['login with an emailed code'] = await post('/v1/user-service/user/login', { account: 'coder@example.com', code: await s.latestCode('coder@example.com') })
  answers['token refresh'] = await post('/v1/user-service/user/refreshtoken', { refreshToken })
  answers['ticket issue'] = await s.request({ method: 'GET', url: '/v1/user-service/user/ticket', headers: bearer(accessToken) })
  const { ticket } = answers['ticket issue'].json()
  answers['ticket redemption'] = await post(`/v1/user-service/user/ticket/${ticket}`, { ticket })
  answers['web sign-in form'] = await post('/api/sign-in/form', { account: 'plain@example.com', password: PASSWORD })
  const web = await post('/api/sign-in/form', { account: 'guarded@example.com', password: PASSWORD })
  answers['web sign-in TFA'] = await post('/api/sign-in/tfa', { tfaKey: web.json().tfaKey, tfaCode: authenticatorCode(secret, s.clock, 1) })
  answers['sign-in page, password posted'] = await s.request({ method: 'POST', url: '/sign-in', ...form({ step: 'password', account: 'plain@example.com', password: PASSWORD, handoff: 'none' }) })
  answers['sign-in page, password posted from Studio'] = await s.request({
    method: 'POST',
    url: '/sign-in',
    ...form({ step: 'password', account: 'plain@example.com', password: PASSWORD, handoff: 'ticket' }),
  })
  answers['sign-in page for Studio, already signed in'] = await s.request({
    method: 'GET',
    url: '/sign-in',
    headers: { 'user-agent': STUDIO_UA, cookie: `token=${accessToken}` },
  })

  for (const [what, res] of Object.entries(answers)) {
    assert.ok([200, 303].includes(res.statusCode), `${what}: ${res.statusCode} ${res.body}`)
    assert.notDeepEqual(credentialsIn(res), [], `${what} carries a credential`)
    assert.equal(res.headers['cache-control'], 'no-store', what)
  }
})

test('the sign-in page may not be framed: frame-ancestors none and X-Frame-Options DENY on every answer', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('plain@example.com')
  const answers = [
    await s.request({ method: 'GET', url: '/sign-in' }),
    await s.request({ method: 'GET', url: '/sign-in?client=studio' }),
    await s.request({ method: 'POST', url: '/sign-in', ...form({ step: 'password', account: 'plain@example.com', password: 'wrong password' }) }),
    await s.request({ method: 'POST', url: '/sign-in', ...form({ step: 'password', account: 'plain@example.com', password: PASSWORD }) }),
  ]
  assert.deepEqual(answers.map((res) => res.statusCode), [200, 200, 400, 200])
  for (const res of answers) {
    assert.equal(res.headers['x-frame-options'], 'DENY')
    const csp = String(res.headers['content-security-policy'])
    assert.match(csp, /(^|;\s*)frame-ancestors 'none'(;|$)/)
    // Nothing loads from anywhere; only the page's own nonce'd style and script run.
    assert.match(csp, /(^|;\s*)default-src 'none'(;|$)/)
    assert.equal(res.headers['cache-control'], 'no-store')
  }
})

test('admin answers, which carry TFA secrets, access codes and login codes, say Cache-Control: no-store', async (t) => {
  const s = await startTestApp(t)
  const created = await s.admin({ method: 'POST', url: '/admin/v1/users', payload: { account: 'guarded@example.com', password: PASSWORD, login_policy: 'tfa' } })
  assert.equal(created.statusCode, 201, created.body)
  assert.equal(typeof created.json().tfa_secret, 'string')
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'coder@example.com', password: PASSWORD } })
  const outbox = await s.admin({ method: 'GET', url: '/admin/v1/outbox?account=coder@example.com' })
  assert.equal(outbox.statusCode, 200, outbox.body)
  for (const res of [created, outbox, await s.admin({ method: 'GET', url: '/admin/v1/users' })]) assert.equal(res.headers['cache-control'], 'no-store')
})
