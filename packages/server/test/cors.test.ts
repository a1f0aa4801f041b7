import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bearer, startTestApp } from './helpers/app.ts'

test('no CORS headers when CORS_ORIGINS is unset', async (t) => {
  const s = await startTestApp(t)
  const res = await s.request({ method: 'GET', url: '/healthz', headers: { origin: 'https://app.example.org' } })
  assert.equal(res.headers['access-control-allow-origin'], undefined)
})

test('CORS_ORIGINS lets a listed page call the API with a Bearer token', async (t) => {
  const s = await startTestApp(t, { CORS_ORIGINS: 'https://app.example.org, http://localhost:5173' })
  const preflight = await s.request({
    method: 'OPTIONS',
    url: '/v1/user-service/my/profile',
    headers: { origin: 'https://app.example.org', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  })
  assert.equal(preflight.statusCode, 204)
  assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example.org')
  assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/i)

  await s.createUser('page@example.com')
  const { accessToken } = await s.login('page@example.com')
  const res = await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: { origin: 'http://localhost:5173', ...bearer(accessToken) } })
  assert.equal(res.statusCode, 200)
  assert.equal(res.headers['access-control-allow-origin'], 'http://localhost:5173')

  const other = await s.request({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example.com' } })
  assert.equal(other.headers['access-control-allow-origin'], undefined)
})
