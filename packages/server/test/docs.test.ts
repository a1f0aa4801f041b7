import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp } from './helpers/app.ts'

test('GET /openapi.json is the generated OpenAPI document of the routes', async (t) => {
  const s = await startTestApp(t)
  const res = await s.request({ method: 'GET', url: '/openapi.json' })
  assert.equal(res.statusCode, 200)
  const doc = res.json()
  assert.equal(doc.openapi, '3.0.3')
  assert.equal(typeof doc.info.title, 'string')
  const login = doc.paths['/v1/user-service/user/login']?.post
  assert.ok(login, 'login is documented')
  const schema = login.responses['200'].content['application/json'].schema
  assert.deepEqual(Object.keys(schema.properties).sort(), ['accessMethod', 'accessToken', 'expiresIn', 'loginType', 'refreshExpiresIn', 'refreshToken', 'success', 'tfaKey'])
  assert.deepEqual(login.security, [])
  assert.deepEqual(doc.paths['/v1/user-service/my/profile'].get.security, [{ bearer: [] }])
  assert.deepEqual(doc.paths['/admin/v1/users'].post.security, [{ admin: [] }])
  // Every registered cloud and admin route appears in the document.
  for (const route of s.app.routeTable.filter((r) => r.url.startsWith('/v1/') || r.url.startsWith('/admin/'))) {
    const p = route.url.replace(/:([A-Za-z_]+)/g, '{$1}')
    assert.ok(doc.paths[p]?.[route.method.toLowerCase()], `${route.method} ${p} documented`)
  }
})

test('GET /docs serves a page rendering the document, without a token', async (t) => {
  const s = await startTestApp(t)
  const res = await s.request({ method: 'GET', url: '/docs/' })
  assert.equal(res.statusCode, 200)
  assert.match(String(res.headers['content-type']), /text\/html/)
  assert.match(res.body, /swagger/i)
  const init = await s.request({ method: 'GET', url: '/docs/static/swagger-initializer.js' })
  assert.equal(init.statusCode, 200)
})
