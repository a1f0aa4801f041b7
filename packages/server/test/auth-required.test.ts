import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bearer, startTestApp, type TestApp } from './helpers/app.ts'

const UNAUTHORIZED = { code: 4, error: 'Please login.', message: '' }

/** Routes anyone may call; everything else must demand a token. */
const OPEN_ROUTES = [
  'GET /healthz',
  'GET /openapi.json',
  'GET /sign-in',
  'GET /:lang/sign-in',
  'GET /api/csrf',
  'POST /api/sign-in/form',
  'POST /api/sign-in/tfa',
  'POST /sign-in',
  'POST /:lang/sign-in',
  'POST /v1/user-service/user/login',
  'POST /v1/user-service/user/refreshtoken',
  'POST /v1/user-service/user/sendemail/code',
  'POST /v1/user-service/user/sendsmscode',
  'POST /v1/user-service/user/tfa/login',
  'POST /v1/user-service/user/ticket/:ticket',
  'GET /v1/iot-service/api/slicer/resource',
  'GET /assets/task-cover.png',
  // Signed file URLs: the signature in the query is the credential (checked below).
  'PUT /files/:project_id/:file',
  'GET /files/:project_id/:file',
  'GET /files/:project_id/:file/*',
]

function concrete(url: string): string {
  return url.replace(/:[A-Za-z_]+/g, '1').replace(/\*/g, 'x')
}

async function tokenStates(s: TestApp) {
  await s.createUser('walker@example.com')
  const revoked = await s.login('walker@example.com')
  await s.request({ method: 'POST', url: '/v1/user-service/my/logout', headers: bearer(revoked.accessToken), payload: {} })
  return {
    missing: {},
    unknown: bearer('not-a-token-we-issued'),
    malformed: { authorization: 'Basic d2Fsa2VyOnB3' },
    revoked: bearer(revoked.accessToken),
  }
}

test('the open routes are exactly the ones meant to be open', async (t) => {
  const s = await startTestApp(t)
  const open = s.app.routeTable
    .filter((r) => r.auth === 'none')
    .map((r) => `${r.method} ${r.url}`)
    .sort()
  for (const route of OPEN_ROUTES) assert.ok(open.includes(route), `${route} is open`)
  // The documentation pages (/docs and its assets) are public too.
  for (const route of open) {
    assert.ok(OPEN_ROUTES.includes(route) || route.startsWith('GET /docs'), `${route} is open but not meant to be`)
  }
  assert.ok(open.includes('GET /docs'))
})

test('every authenticated route answers 401 in the envelope without a valid token', async (t) => {
  const s = await startTestApp(t)
  const states = await tokenStates(s)
  const routes = s.app.routeTable.filter((r) => r.auth === 'user')
  assert.ok(routes.length >= 4, 'the walk covers the registered routes')
  for (const route of routes) {
    for (const prefix of ['', '/api']) {
      if (prefix === '/api' && !route.url.startsWith('/v1/')) continue
      for (const [state, headers] of Object.entries(states)) {
        const res = await s.request({ method: route.method as 'GET', url: prefix + concrete(route.url), headers, payload: route.method === 'GET' ? undefined : {} })
        assert.equal(res.statusCode, 401, `${route.method} ${prefix}${route.url} with ${state} token`)
        assert.deepEqual(res.json(), UNAUTHORIZED, `${route.method} ${route.url} body`)
      }
    }
  }
})

test('an expired token gets the same 401 on every authenticated route', async (t) => {
  const s = await startTestApp(t, { ACCESS_TOKEN_TTL: '60' })
  await s.createUser('walker@example.com')
  const { accessToken } = await s.login('walker@example.com')
  s.clock.advance(61_000)
  for (const route of s.app.routeTable.filter((r) => r.auth === 'user')) {
    const res = await s.request({ method: route.method as 'GET', url: concrete(route.url), headers: bearer(accessToken), payload: route.method === 'GET' ? undefined : {} })
    assert.equal(res.statusCode, 401, `${route.method} ${route.url}`)
    assert.deepEqual(res.json(), UNAUTHORIZED)
  }
})

test('every admin route answers 401 without the admin token, even to a logged-in user', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('walker@example.com')
  const { accessToken } = await s.login('walker@example.com')
  const routes = s.app.routeTable.filter((r) => r.auth === 'admin')
  assert.ok(routes.length >= 5)
  for (const route of routes) {
    for (const headers of [{}, bearer(accessToken), bearer('wrong-admin-token-0000000')]) {
      const res = await s.request({ method: route.method as 'GET', url: concrete(route.url), headers, payload: route.method === 'GET' ? undefined : {} })
      assert.equal(res.statusCode, 401, `${route.method} ${route.url}`)
      const body = res.json()
      assert.equal(typeof body.code, 'number')
      assert.equal(typeof body.error, 'string')
    }
  }
})

test('the signed file routes refuse every request without a valid signature', async (t) => {
  const s = await startTestApp(t)
  const mismatch = { code: 1013, error: 'Signature does not match', message: 'The URL’s signature is missing or invalid' }
  const routes = s.app.routeTable.filter((r) => r.url.startsWith('/files/'))
  assert.equal(routes.length, 3)
  for (const route of routes) {
    const url = concrete(route.url).replace('/files/1/1', '/files/1/upload-00000000000000000000000000000000.3mf')
    for (const query of ['', '?sig=', '?sig=AAAA', '?expires=1&sig=AAAA', '?expires=x&sig=AAAA']) {
      const res = await s.request({ method: route.method as 'GET', url: url + query, payload: route.method === 'PUT' ? Buffer.from('PK') : undefined })
      assert.equal(res.statusCode, 403, `${route.method} ${url}${query}`)
      assert.deepEqual(res.json(), mismatch)
    }
  }
})
