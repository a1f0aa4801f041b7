import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PASSWORD, bearer, cookiesOf, startTestApp, TOKEN_FIELDS } from './helpers/app.ts'
import { verifyJwt } from '../src/lib/jwt.ts'
import { loadSecretsKey } from '../src/data-dir.ts'
import { SecretBox } from '../src/lib/secret-box.ts'


test('password login answers all seven fields with their JSON types, and the same tokens as cookies', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('Maker@Example.com')
  const res = await s.request({
    method: 'POST',
    url: '/v1/user-service/user/login',
    payload: { account: 'maker@example.com', password: PASSWORD, apiError: '' },
  })
  assert.equal(res.statusCode, 200)
  const body = res.json()
  assert.deepEqual(Object.keys(body).sort(), [...TOKEN_FIELDS].sort())
  assert.equal(typeof body.accessToken, 'string')
  assert.ok(body.accessToken.length >= 32)
  assert.equal(typeof body.refreshToken, 'string')
  assert.notEqual(body.refreshToken, body.accessToken)
  assert.equal(body.expiresIn, 7776000)
  assert.equal(body.refreshExpiresIn, 7776000)
  assert.equal(body.tfaKey, '')
  assert.equal(body.accessMethod, 'password')
  assert.equal(body.loginType, '')

  const cookies = cookiesOf(res)
  assert.equal(cookies.token?.value, body.accessToken)
  assert.equal(cookies.refreshToken?.value, body.refreshToken)
  for (const c of [cookies.token!, cookies.refreshToken!]) {
    assert.ok(c.attributes.includes('HttpOnly'))
    assert.ok(c.attributes.includes('Path=/'))
    assert.ok(c.attributes.includes('Max-Age=7776000'))
    assert.ok(!c.attributes.includes('Secure'), 'not Secure on an http PUBLIC_URL')
  }

  const profile = await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(body.accessToken) })
  assert.equal(profile.statusCode, 200)
  assert.equal(profile.json().account, 'maker@example.com')
})

test('cookies are Secure when PUBLIC_URL is https, and Max-Age follows ACCESS_TOKEN_TTL', async (t) => {
  const s = await startTestApp(t, { PUBLIC_URL: 'https://cloud.example.org', ACCESS_TOKEN_TTL: '3600' })
  await s.createUser('maker@example.com')
  const res = await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'maker@example.com', password: PASSWORD } })
  assert.equal(res.json().expiresIn, 3600)
  const cookies = cookiesOf(res)
  assert.ok(cookies.token!.attributes.includes('Secure'))
  assert.ok(cookies.token!.attributes.includes('Max-Age=3600'))
})

test('wrong password and unknown account get the identical 400 body', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const wrong = await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'maker@example.com', password: 'not the password' } })
  const unknown = await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'nobody@example.com', password: 'not the password' } })
  for (const res of [wrong, unknown]) {
    assert.equal(res.statusCode, 400)
    assert.deepEqual(res.json(), { code: 2, error: 'Incorrect password' })
    assert.equal(res.headers['set-cookie'], undefined)
  }
  assert.equal(wrong.body, unknown.body)
})

test('a login body with neither password nor code is a 400 envelope', async (t) => {
  const s = await startTestApp(t)
  const res = await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'maker@example.com' } })
  assert.equal(res.statusCode, 400)
  const body = res.json()
  assert.equal(typeof body.code, 'number')
  assert.equal(typeof body.error, 'string')
})

test('/api/v1/... serves exactly what /v1/... serves', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const res = await s.request({ method: 'POST', url: '/api/v1/user-service/user/login', payload: { account: 'maker@example.com', password: PASSWORD } })
  assert.equal(res.statusCode, 200)
  const { accessToken } = res.json()
  const v1 = await s.request({ method: 'GET', url: '/v1/design-user-service/my/preference', headers: bearer(accessToken) })
  const api = await s.request({ method: 'GET', url: '/api/v1/design-user-service/my/preference', headers: bearer(accessToken) })
  assert.equal(api.statusCode, 200)
  assert.equal(api.body, v1.body)
  const anonymous = await s.request({ method: 'GET', url: '/api/v1/user-service/my/profile' })
  assert.equal(anonymous.statusCode, 401)
  assert.deepEqual(anonymous.json(), { code: 4, error: 'Please login.', message: '' })
})

test('TOKEN_FORMAT=jwt hands out signed JWTs whose payload names u_<uid> and exp', async (t) => {
  const s = await startTestApp(t, { TOKEN_FORMAT: 'jwt' })
  const user = await s.createUser('maker@example.com')
  const body = await s.login('maker@example.com')
  const parts = body.accessToken.split('.')
  assert.equal(parts.length, 3)
  const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString())
  assert.equal(payload.username, `u_${user.uid}`)
  assert.equal(typeof payload.exp, 'number')
  assert.equal(payload.exp, Math.floor(s.clock.ms / 1000) + 7776000)
  const secret = await s.database.db.selectFrom('server_secrets').select('value').where('name', '=', 'jwt').executeTakeFirstOrThrow()
  assert.deepEqual(verifyJwt(body.accessToken, new SecretBox(loadSecretsKey(s.config)).open(secret.value))?.username, `u_${user.uid}`)
  assert.equal(verifyJwt(body.accessToken, 'some other secret'), null)
  const profile = await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(body.accessToken) })
  assert.equal(profile.statusCode, 200)
})

test('profile and preference carry the identity fields with their wire types', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com', { name: 'Maker' })
  assert.ok(user.uid > 0 && user.uid < 2 ** 32)
  const { accessToken } = await s.login('maker@example.com')

  const profile = (await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(accessToken) })).json()
  assert.deepEqual(profile, { uid: user.uid, uidStr: String(user.uid), account: 'maker@example.com', name: 'Maker', avatar: '', setting: {} })

  const pref = (await s.request({ method: 'GET', url: '/v1/design-user-service/my/preference', headers: bearer(accessToken) })).json()
  assert.equal(pref.uid, user.uid)
  assert.equal(typeof pref.uid, 'number')
  for (const field of ['name', 'handle', 'avatar', 'bio', 'backgroundUrl']) assert.equal(typeof pref[field], 'string', field)
  assert.deepEqual(pref.links, [])
  assert.equal(pref.name, 'Maker')
})

test('uids grow over time', async (t) => {
  const s = await startTestApp(t)
  const a = await s.createUser('a@example.com')
  const b = await s.createUser('b@example.com')
  assert.ok(b.uid > a.uid)
})
