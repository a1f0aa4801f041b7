/**
 * What the server logs never carries a credential: not in headers or bodies (never logged),
 * not in any URL of any route (one redaction rule over every log line), not when a
 * request is cut for slowness or refused as malformed over a real socket.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { redactSecrets } from '../src/http/logging.ts'
import { ADMIN_TOKEN, PASSWORD, bearer, startTestApp } from './helpers/app.ts'
import { connectRaw, parseAnswer } from './helpers/raw-http.ts'

/** An app at LOG_LEVEL trace whose log lines are collected in `log()`. */
async function loggedApp(t: TestContext, env: Record<string, string> = {}) {
  let log = ''
  const stream = new Writable({
    write(chunk, _enc, cb) {
      log += chunk.toString()
      cb()
    },
  })
  const s = await startTestApp(t, { LOG_LEVEL: 'trace', ...env }, { logger: { stream } })
  return Object.assign(s, { log: () => log })
}

test('redactSecrets hides what follows a ticket segment and sensitive query values, wherever a URL appears', () => {
  assert.equal(redactSecrets('/v1/user-service/user/ticket/abc123'), '/v1/user-service/user/ticket/[redacted]')
  assert.equal(redactSecrets('/api/v1/user-service/my/ticket/abc/def?x=1'), '/api/v1/user-service/my/ticket/[redacted]?x=1')
  assert.equal(redactSecrets('/x?ticket=T1&action=upload'), '/x?ticket=[redacted]&action=upload')
  assert.equal(redactSecrets('/x?code=123456&token=t&password=p&access_token=a'), '/x?code=[redacted]&token=[redacted]&password=[redacted]&access_token=[redacted]')
  assert.equal(redactSecrets('/files/7/upload-1.3mf?expires=99&SIG=abc%2B'), '/files/7/upload-1.3mf?expires=99&SIG=[redacted]')
  assert.equal(
    redactSecrets('{"msg":"Reply was already sent in \\"/v1/user-service/user/ticket/abc\\" (POST)"}'),
    '{"msg":"Reply was already sent in \\"/v1/user-service/user/ticket/[redacted]\\" (POST)"}',
  )
  assert.equal(redactSecrets('/v1/iot-service/api/user/bind?dev_id=01S00A&codec=h264'), '/v1/iot-service/api/user/bind?dev_id=01S00A&codec=h264')
})

test('logs carry no password, token, cookie, ticket or code', async (t) => {
  const s = await loggedApp(t)
  await s.createUser('secretive@example.com')
  const tokens = await s.login('secretive@example.com')
  await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: { ...bearer(tokens.accessToken), cookie: `token=${tokens.accessToken}` } })
  const ticket = (await s.request({ method: 'GET', url: '/v1/user-service/user/ticket', headers: bearer(tokens.accessToken) })).json().ticket
  await s.request({ method: 'POST', url: `/v1/user-service/user/ticket/${ticket}`, payload: { ticket } })
  await s.request({ method: 'POST', url: '/v1/user-service/user/refreshtoken', payload: { refreshToken: tokens.refreshToken } })
  await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'secretive@example.com', password: 'wrong password here' } })

  const log = s.log()
  assert.ok(log.includes('incoming request'), 'requests are logged at all')
  for (const secret of [PASSWORD, 'wrong password here', tokens.accessToken, tokens.refreshToken, ticket]) {
    assert.ok(!log.includes(secret), `log leaks ${secret.slice(0, 6)}...`)
  }
  assert.ok(log.includes('/v1/user-service/user/ticket/[redacted]'))
})

const SECRET = 'S3CRET-c0ffee-5ecret'
/** Path parameters that are credentials (sign-on tickets); every other one is an id, and stays in the log. */
const SECRET_PARAMS = ['POST /v1/user-service/user/ticket/:ticket', 'GET /v1/user-service/my/ticket/:id', 'POST /v1/user-service/my/ticket/:id']
const SENSITIVE_QUERY = ['sig', 'token', 'code', 'ticket', 'access_token', 'refreshToken', 'password', 'tfaKey', 'signature']

test('no route logs a ticket in its path, or a sig, token, code or other credential in its query', async (t) => {
  const s = await loggedApp(t)
  await s.createUser('walker@example.com')
  const { accessToken } = await s.login('walker@example.com')
  const query = SENSITIVE_QUERY.map((k) => `${k}=${SECRET}`).join('&')
  const expectedInLog: string[] = []
  let n = 0
  for (const route of s.app.routeTable) {
    for (const prefix of route.url.startsWith('/v1/') ? ['', '/api'] : ['']) {
      const id = `id${++n}x`
      const secretPath = SECRET_PARAMS.includes(`${route.method} ${route.url}`)
      const path = route.url.replace(/:[A-Za-z_]+/g, secretPath ? SECRET : id).replace(/\*/g, id)
      if (!secretPath && path !== route.url) expectedInLog.push(id)
      expectedInLog.push(`marker=${n}`)
      const auth =
        route.auth === 'admin' ? bearer(ADMIN_TOKEN) : route.auth === 'user' && !route.url.endsWith('/logout') ? bearer(accessToken) : {}
      await s.request({
        method: route.method as 'GET',
        url: `${prefix}${path}?${query}&marker=${n}`,
        headers: { ...auth, cookie: `token=${SECRET}; refreshToken=${SECRET}` },
        payload: route.method === 'GET' ? undefined : { ticket: SECRET, code: SECRET, password: SECRET, refreshToken: SECRET, tfaCode: SECRET },
      })
    }
  }
  const log = s.log()
  assert.ok(n >= 100, `the walk covers every route (${n} requests)`)
  // Not redacted away: ids and harmless query values are still there to read.
  for (const text of expectedInLog) assert.ok(log.includes(text), `the log shows ${text}`)
  assert.ok(!log.includes(SECRET), `the log leaks the secret: ${log.split('\n').find((l) => l.includes(SECRET))}`)
})

test('requests cut for slowness or refused as malformed log no secret', { timeout: 60_000 }, async (t) => {
  const s = await loggedApp(t, { REQUEST_TIMEOUT: '1' })
  await s.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = s.app.server.address() as AddressInfo

  const slow = await connectRaw(t, port)
  slow.write(`POST /v1/user-service/user/ticket/${SECRET}?sig=${SECRET} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{`)
  slow.trickle(' ', 100)
  assert.equal(parseAnswer(await slow.closed).status, 408)

  const malformed = await connectRaw(t, port)
  malformed.write(`GET /v1/user-service/my/ticket/${SECRET}?token=${SECRET} HTTP/1.1\r\nauthorization: Bearer ${SECRET}\r\nnot a header\r\n\r\n`)
  const refused = parseAnswer(await malformed.closed)
  assert.deepEqual([refused.status, JSON.parse(refused.body)], [400, { code: 1002, error: 'Bad request', message: 'The request is not valid HTTP/1.1' }])

  const log = s.log()
  assert.ok(log.includes('request body too slow; connection closed') && log.includes('client error; connection closed'), log)
  assert.ok(!log.includes(SECRET), `the log leaks the secret: ${log.split('\n').find((l) => l.includes(SECRET))}`)
})
