/**
 * The web host's CSRF check over real HTTP: `GET /api/csrf` sets the `bbl_csrf_token`
 * cookie, and `/api/sign-in/form` and `/api/sign-in/tfa` compare it with the
 * `x-bbl-csrf-token` header before they read the body.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { loadConfig } from '../src/config.ts'
import { PASSWORD, authenticatorCode, bearer, startTestApp, type TestApp } from './helpers/app.ts'

const TOKEN = /^[A-Za-z0-9_-]{43}$/

async function listening(t: TestContext, env: Record<string, string> = {}) {
  const s = await startTestApp(t, env)
  await s.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(s.app.server.address() as AddressInfo).port}`
  return { s, base }
}

async function csrfToken(base: string): Promise<{ token: string; setCookie: string[]; res: Response; body: unknown }> {
  const res = await fetch(`${base}/api/csrf`)
  const body: unknown = await res.json()
  const setCookie = res.headers.getSetCookie()
  const token = /^bbl_csrf_token=([^;]*)/.exec(setCookie[0] ?? '')?.[1] ?? ''
  return { token, setCookie, res, body }
}

/** POSTs JSON with whichever of the CSRF cookie and header are given. */
function post(base: string, path: string, body: string, csrf: { cookie?: string; header?: string }) {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (csrf.cookie !== undefined) headers.cookie = `theme=dark; bbl_csrf_token=${csrf.cookie}`
  if (csrf.header !== undefined) headers['x-bbl-csrf-token'] = csrf.header
  return fetch(`${base}${path}`, { method: 'POST', headers, body })
}

async function assertRefused(res: Response, reason: string) {
  assert.equal(res.status, 403)
  assert.match(String(res.headers.get('content-type')), /^application\/json/)
  assert.deepEqual(await res.json(), { error: `CSRF error: ${reason}`, reason })
  assert.deepEqual(res.headers.getSetCookie(), [], 'no cookies on a refusal')
}

async function loginCount(s: TestApp): Promise<number> {
  const row = await s.database.db.selectFrom('logins').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

/** A 200 that set both token cookies; the access token works as a Bearer token. */
async function assertSignedIn(s: TestApp, res: Response, account: string) {
  assert.equal(res.status, 200, await res.clone().text())
  const names = res.headers.getSetCookie().map((c) => c.split('=')[0]).sort()
  assert.deepEqual(names, ['refreshToken', 'token'])
  const token = decodeURIComponent(/^token=([^;]*)/.exec(res.headers.getSetCookie().find((c) => c.startsWith('token='))!)![1]!)
  const profile = await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(token) })
  assert.equal(profile.json().account, account)
}

test('GET /api/csrf sets a fresh random bbl_csrf_token cookie (SameSite=Lax, Path=/) and answers it as {"token"}', async (t) => {
  const { base } = await listening(t)
  const first = await csrfToken(base)
  assert.equal(first.res.status, 200)
  assert.match(String(first.res.headers.get('content-type')), /^application\/json/)
  assert.equal(first.res.headers.get('cache-control'), 'no-store')
  assert.match(first.token, TOKEN)
  assert.deepEqual(first.body, { token: first.token })
  assert.deepEqual(first.setCookie, [`bbl_csrf_token=${first.token}; Path=/; SameSite=Lax`])
  const second = await csrfToken(base)
  assert.notEqual(second.token, first.token)
})

test('under an https PUBLIC_URL the CSRF cookie is Secure', async (t) => {
  const { base } = await listening(t, { PUBLIC_URL: 'https://cloud.example.com' })
  const { token, setCookie } = await csrfToken(base)
  assert.deepEqual(setCookie, [`bbl_csrf_token=${token}; Path=/; SameSite=Lax; Secure`])
})

test('the CSRF matrix on /api/sign-in/form: one without the other or two values is 403 before the body; a match or neither signs in', async (t) => {
  const { s, base } = await listening(t)
  await s.createUser('maker@example.com')
  const good = JSON.stringify({ account: 'maker@example.com', password: PASSWORD })
  const { token } = await csrfToken(base)
  const other = (await csrfToken(base)).token

  for (const body of [good, '{not json']) {
    await assertRefused(await post(base, '/api/sign-in/form', body, { cookie: token }), 'missing_header')
    await assertRefused(await post(base, '/api/sign-in/form', body, { cookie: token, header: '' }), 'missing_header')
    await assertRefused(await post(base, '/api/sign-in/form', body, { header: token }), 'missing_cookie')
    await assertRefused(await post(base, '/api/sign-in/form', body, { cookie: token, header: other }), 'mismatch')
  }
  assert.equal(await loginCount(s), 0, 'a refused request signed nobody in')

  await assertSignedIn(s, await post(base, '/api/sign-in/form', good, { cookie: token, header: token }), 'maker@example.com')
  // Older clients send neither, and still sign in.
  await assertSignedIn(s, await post(base, '/api/sign-in/form', good, {}), 'maker@example.com')
  assert.equal(await loginCount(s), 2)
})

test('the CSRF matrix on /api/sign-in/tfa: the same refusals, and the TFA login with a match', async (t) => {
  const { s, base } = await listening(t)
  const user = await s.createUser('tfa@example.com', { login_policy: 'tfa' })
  const start = await post(base, '/api/sign-in/form', JSON.stringify({ account: 'tfa@example.com', password: PASSWORD }), {})
  assert.equal(start.status, 200)
  const { tfaKey } = (await start.json()) as { tfaKey: string }
  assert.ok(tfaKey.length > 0)
  const good = JSON.stringify({ tfaKey, tfaCode: authenticatorCode(user.tfa_secret!, s.clock) })
  const { token } = await csrfToken(base)
  const other = (await csrfToken(base)).token

  for (const body of [good, '{not json']) {
    await assertRefused(await post(base, '/api/sign-in/tfa', body, { cookie: token }), 'missing_header')
    await assertRefused(await post(base, '/api/sign-in/tfa', body, { header: token }), 'missing_cookie')
    await assertRefused(await post(base, '/api/sign-in/tfa', body, { cookie: token, header: other }), 'mismatch')
  }
  assert.equal(await loginCount(s), 0)

  const res = await post(base, '/api/sign-in/tfa', good, { cookie: token, header: token })
  await assertSignedIn(s, res, 'tfa@example.com')
  assert.deepEqual(await res.json(), {})
})

test('WEB_CSRF=strict refuses a request with neither cookie nor header on both routes; a match still works', async (t) => {
  const { s, base } = await listening(t, { WEB_CSRF: 'strict' })
  await s.createUser('maker@example.com')
  const good = JSON.stringify({ account: 'maker@example.com', password: PASSWORD })
  await assertRefused(await post(base, '/api/sign-in/form', good, {}), 'missing_cookie')
  await assertRefused(await post(base, '/api/sign-in/tfa', JSON.stringify({ tfaKey: 'k', tfaCode: '123456' }), {}), 'missing_cookie')
  const { token } = await csrfToken(base)
  await assertRefused(await post(base, '/api/sign-in/form', good, { cookie: token }), 'missing_header')
  await assertSignedIn(s, await post(base, '/api/sign-in/form', good, { cookie: token, header: token }), 'maker@example.com')
})

test('WEB_CSRF is "lenient" by default and accepts only "lenient" or "strict"', () => {
  assert.equal(loadConfig({}).webCsrf, 'lenient')
  assert.equal(loadConfig({ WEB_CSRF: 'strict' }).webCsrf, 'strict')
  assert.throws(() => loadConfig({ WEB_CSRF: 'off' }), /^ConfigError: WEB_CSRF must be "lenient" or "strict", got "off"$/)
})
