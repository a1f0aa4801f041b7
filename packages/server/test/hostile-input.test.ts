/**
 * Input the databases cannot keep is refused in validation, and every error the HTTP layer
 * itself raises (router, Node's parser) leaves in the envelope. Found by the OpenAPI fuzzer;
 * PostgreSQL was where a NUL character became a 500, both databases for integers past 2^53.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import type { LightMyRequestResponse } from 'fastify'
import { ADMIN_TOKEN, PASSWORD, addDevice, bearer, startTestApp } from './helpers/app.ts'
import { rawExchange, rawRequestText, type RawReply } from './helpers/raw-http.ts'

const nulRefused = (where: string) => ({ code: 1002, error: 'Bad request', message: `${where} must not contain a NUL character (U+0000)` })

function assertError(res: LightMyRequestResponse | RawReply, status: number, body: object) {
  const [code, text] = 'statusCode' in res ? [res.statusCode, res.body] : [res.status, res.body]
  assert.equal(code, status, text)
  assert.match(String(res.headers['content-type']), /^application\/json/)
  assert.deepEqual(JSON.parse(text), body)
}

test('a NUL character in any field of the unauthenticated login routes is a 400 naming the field', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const cases: [string, Record<string, string>, string][] = [
    ['/v1/user-service/user/login', { account: 'maker@example.com\u0000', password: PASSWORD }, 'body/account'],
    ['/v1/user-service/user/login', { account: 'maker@example.com', password: `${PASSWORD}\u0000` }, 'body/password'],
    ['/v1/user-service/user/login', { account: 'maker@example.com', code: '12\u000034' }, 'body/code'],
    ['/v1/user-service/user/sendemail/code', { email: 'a\u0000@example.com', type: 'codeLogin' }, 'body/email'],
    ['/v1/user-service/user/sendsmscode', { phone: '+1555\u0000', type: 'codeLogin' }, 'body/phone'],
    ['/v1/user-service/user/tfa/login', { tfaKey: 'k\u0000', tfaCode: '123456' }, 'body/tfaKey'],
    ['/v1/user-service/user/refreshtoken', { refreshToken: '\u0000' }, 'body/refreshToken'],
    ['/api/sign-in/form', { account: '\u0000', password: 'x' }, 'body/account'],
    ['/api/sign-in/tfa', { tfaKey: 'k', tfaCode: '\u0000' }, 'body/tfaCode'],
    ['/v1/user-service/user/ticket/T1', { ticket: 'T\u00001' }, 'body/ticket'],
  ]
  for (const [url, payload, where] of cases) {
    assertError(await s.request({ method: 'POST', url, payload }), 400, nulRefused(where))
  }
  // A NUL in a key, and percent-encoded in a form body and in a path parameter.
  assertError(await s.request({ method: 'POST', url: '/v1/user-service/user/login', headers: { 'content-type': 'application/json' }, payload: '{"account":"maker@example.com","x\\u0000":1}' }), 400, nulRefused('body/x\\u0000'))
  // A long key is cut short in the message.
  assertError(await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'maker@example.com', [`${'k'.repeat(100)}\u0000`]: 1 } }), 400, nulRefused(`body/${'k'.repeat(64)}…`))
  assertError(await s.request({ method: 'POST', url: '/api/sign-in/form', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'account=a%00b&password=x' }), 400, nulRefused('body/account'))
  assertError(await s.request({ method: 'POST', url: '/v1/user-service/user/ticket/T%001', payload: {} }), 400, nulRefused('params/ticket'))
  // The account still logs in: nothing was half-written.
  await s.login('maker@example.com')
})

test('a NUL character in queries, path parameters and free-form JSON is refused before it reaches the database', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  await addDevice(s, 'maker@example.com', '00M00A9A0000001')
  const { accessToken } = await s.login('maker@example.com')
  const auth = bearer(accessToken)
  assertError(await s.request({ method: 'GET', url: '/v1/user-service/my/tasks?deviceId=%00', headers: auth }), 400, nulRefused('querystring/deviceId'))
  assertError(await s.request({ method: 'GET', url: '/v1/iot-service/api/user/bind_list?dev_ids=a%00', headers: auth }), 400, nulRefused('querystring/dev_ids'))
  assertError(await s.request({ method: 'GET', url: '/v1/iot-service/api/slicer/setting/PFUS%00', headers: auth }), 400, nulRefused('params/id'))
  assertError(await s.admin({ method: 'GET', url: '/admin/v1/devices/00M00A9A%000000001' }), 400, nulRefused('params/dev_id'))
  assertError(await s.admin({ method: 'GET', url: '/admin/v1/outbox?account=%00' }), 400, nulRefused('querystring/account'))
  assertError(
    await s.request({ method: 'POST', url: '/v1/iot-service/api/slicer/setting', headers: auth, payload: { type: 'filament', name: 'PLA', version: '1.0.0.0', setting: { inherits: 'x', deep: [{ note: 'a\u0000' }] } } }),
    400,
    nulRefused('body/setting/deep/0/note'),
  )
  assertError(await s.admin({ method: 'POST', url: '/admin/v1/users', payload: { account: 'other@example.com', password: PASSWORD, name: 'N\u0000' } }), 400, nulRefused('body/name'))
  const users = await s.admin({ method: 'GET', url: '/admin/v1/users' })
  assert.deepEqual(users.json().users.map((u: { account: string }) => u.account), ['maker@example.com'])
  const settings = await s.request({ method: 'GET', url: '/v1/iot-service/api/slicer/setting?version=1.0.0.0&public=false', headers: auth })
  assert.equal(settings.statusCode, 200, settings.body)
  const empty = { public: [], private: [] }
  assert.deepEqual(settings.json(), { message: 'success', code: null, error: null, print: empty, printer: empty, filament: empty })
})

test('a body nesting deeper than 64 levels is a 400, wherever the schema lets free JSON through', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  await addDevice(s, 'maker@example.com', '00M00A9A0000001')
  const { accessToken } = await s.login('maker@example.com')
  const headers = { ...bearer(accessToken), 'content-type': 'application/json' }
  const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels)
  const tooDeep = { code: 1002, error: 'Bad request', message: 'body must not nest deeper than 64 levels' }
  // 5000 levels was a 500 (the stack ran out storing it). The body itself is the first level.
  for (const levels of [64, 5000, 100_000]) {
    assertError(await s.request({ method: 'POST', url: '/v1/user-service/my/task', headers, payload: `{"deviceId":"00M00A9A0000001","extra":${nested(levels)}}` }), 400, tooDeep)
    assertError(
      await s.request({ method: 'POST', url: '/v1/iot-service/api/slicer/setting', headers, payload: `{"type":"filament","name":"PLA","version":"1.0.0.0","setting":{"inherits":"x","deep":${nested(levels)}}}` }),
      400,
      tooDeep,
    )
    assertError(await s.admin({ method: 'POST', url: '/admin/v1/devices/00M00A9A0000001/report', headers: { 'content-type': 'application/json' }, payload: `{"print":${nested(levels)}}` }), 400, tooDeep)
  }
  const deepest = await s.request({ method: 'POST', url: '/v1/user-service/my/task', headers, payload: `{"deviceId":"00M00A9A0000001","extra":${nested(63)}}` })
  assert.equal(deepest.statusCode, 200, deepest.body)
  assert.equal(typeof deepest.json().id, 'number')
})

test('integers past 2^53 are a 400 naming the field; the largest safe integer still passes', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  await addDevice(s, 'maker@example.com', '00M00A9A0000001')
  const { accessToken } = await s.login('maker@example.com')
  const auth = bearer(accessToken)
  const tooBig = (where: string, limit: string) => ({ code: 1002, error: 'Bad request', message: `${where} must be ${limit}` })
  const SAFE = '<= 9007199254740991'
  // Task status, message type and plate index live in 32-bit columns.
  const INT32 = '<= 2147483647'
  for (const value of ['9007199254740992', '9223372036854775808', '18446744073709551616', '1e300']) {
    for (const [field, limit] of [['after', SAFE], ['offset', SAFE], ['limit', SAFE], ['status', INT32]]) {
      assertError(await s.request({ method: 'GET', url: `/v1/user-service/my/tasks?${field}=${value}`, headers: auth }), 400, tooBig(`querystring/${field}`, limit!))
    }
    for (const [field, limit] of [['after', SAFE], ['offset', SAFE], ['type', INT32]]) {
      assertError(await s.request({ method: 'GET', url: `/v1/user-service/my/messages?${field}=${value}`, headers: auth }), 400, tooBig(`querystring/${field}`, limit!))
    }
    assertError(await s.request({ method: 'GET', url: `/v1/user-service/my/task/${value}`, headers: auth }), 400, tooBig('params/id', SAFE))
    assertError(await s.request({ method: 'GET', url: `/v1/iot-service/api/user/profile/${value}?model_id=M1`, headers: auth }), 400, tooBig('params/profile_id', SAFE))
    assertError(await s.admin({ method: 'GET', url: `/admin/v1/users/${value}` }), 400, tooBig('params/uid', SAFE))
  }
  assertError(await s.request({ method: 'GET', url: '/v1/user-service/my/tasks?status=2147483648', headers: auth }), 400, tooBig('querystring/status', INT32))
  assertError(await s.request({ method: 'GET', url: '/v1/user-service/my/messages?type=2147483648', headers: auth }), 400, tooBig('querystring/type', INT32))
  for (const value of [2 ** 31, 2 ** 53, 2 ** 63, 1e300]) {
    const plate = await s.request({ method: 'POST', url: '/v1/user-service/my/task', headers: auth, payload: { deviceId: '00M00A9A0000001', plateIndex: value } })
    assertError(plate, 400, tooBig('body/plateIndex', INT32))
  }
  for (const value of [2 ** 53, 2 ** 63, 1e300]) {
    const design = await s.request({ method: 'POST', url: '/v1/user-service/my/task', headers: auth, payload: { deviceId: '00M00A9A0000001', designId: value } })
    assertError(design, 400, tooBig('body/designId', SAFE))
    // profileId is an integer or a digit string: either branch refuses it.
    const profile = await s.request({ method: 'POST', url: '/v1/user-service/my/task', headers: auth, payload: { deviceId: '00M00A9A0000001', profileId: value } })
    assert.equal(profile.statusCode, 400, profile.body)
    assert.match(profile.json().message, /^body\/profileId /)
  }
  assertError(
    await s.request({ method: 'POST', url: '/v1/user-service/my/task', headers: auth, payload: { deviceId: '00M00A9A0000001', plateIndex: -(2 ** 63) } }),
    400,
    tooBig('body/plateIndex', '>= 0'),
  )
  const tasks = await s.request({ method: 'GET', url: `/v1/user-service/my/tasks?after=${Number.MAX_SAFE_INTEGER}&offset=${Number.MAX_SAFE_INTEGER}&status=2147483647`, headers: auth })
  assert.equal(tasks.statusCode, 200, tasks.body)
  assert.deepEqual(tasks.json(), { total: 0, hits: [] })
  // No such task: past validation, the usual answer for a task that is not the caller's.
  const task = await s.request({ method: 'GET', url: `/v1/user-service/my/task/${Number.MAX_SAFE_INTEGER}`, headers: auth })
  assert.equal(task.statusCode, 403, task.body)
  assert.equal(task.json().code, 8)
})

test('the HTTP layer’s own errors leave in the envelope over a real socket', async (t) => {
  const s = await startTestApp(t)
  await s.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (s.app.server.address() as AddressInfo).port
  await s.createUser('maker@example.com')
  const { accessToken } = await s.login('maker@example.com')
  const send = (target: string, headers: [string, string][] = [], method = 'GET') => rawExchange(port, rawRequestText(method, target, headers))

  const badUrl = await send('/v1/user-service/my/ticket/%E0%A4%A', [['Authorization', `Bearer ${accessToken}`]])
  assertError(badUrl, 400, { code: 1002, error: 'Bad request', message: 'The URL is not valid percent-encoding' })
  assert.ok(!badUrl.body.includes('%E0'), 'the URL is not echoed')

  const longSegment = await send(`/admin/v1/devices/${'A'.repeat(3000)}`, [['Authorization', `Bearer ${ADMIN_TOKEN}`]])
  assertError(longSegment, 414, { code: 1019, error: 'URI too long', message: 'A path segment of the URL is too long' })

  const hugeHeader = await send('/healthz', [['X-Padding', 'p'.repeat(40_000)]])
  assertError(hugeHeader, 431, { code: 1018, error: 'Request header fields too large', message: 'The request line and headers are larger than the server accepts' })

  const notHttp = { code: 1002, error: 'Bad request', message: 'The request is not valid HTTP/1.1' }
  assertError(await rawExchange(port, 'GET /healthz HTTP/9.9 extra\r\n\r\n'), 400, notHttp)
  assertError(await rawExchange(port, 'NOT A REQUEST\r\n\r\n'), 400, notHttp)
  assertError(await send('/v1/user-service/my/profile', [['Authorization', 'Bearer a\u0000b']]), 400, notHttp)

  // A 10 KB bearer token is within the header limit: an ordinary 401.
  const bigToken = await send('/v1/user-service/my/profile', [['Authorization', `Bearer ${'A'.repeat(10_000)}`]])
  assert.equal(bigToken.status, 401, bigToken.body)
  assert.equal(JSON.parse(bigToken.body).code, 4)

  const health = await send('/healthz')
  assert.equal(health.status, 200, health.body)
})
