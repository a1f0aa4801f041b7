import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { redactSecrets } from '../src/http/logging.ts'
import { PASSWORD, bearer, startTestApp } from './helpers/app.ts'

test('redactSecrets hides tickets in paths and sensitive query values', () => {
  assert.equal(redactSecrets('/v1/user-service/user/ticket/abc123'), '/v1/user-service/user/ticket/[redacted]')
  assert.equal(redactSecrets('/x?ticket=T1&action=upload'), '/x?ticket=[redacted]&action=upload')
  assert.equal(redactSecrets('/x?code=123456&token=t&password=p&access_token=a'), '/x?code=[redacted]&token=[redacted]&password=[redacted]&access_token=[redacted]')
  assert.equal(redactSecrets('/v1/iot-service/api/user/bind'), '/v1/iot-service/api/user/bind')
})

test('logs carry no password, token, cookie, ticket or code', async (t) => {
  let log = ''
  const stream = new Writable({
    write(chunk, _enc, cb) {
      log += chunk.toString()
      cb()
    },
  })
  const s = await startTestApp(t, { LOG_LEVEL: 'trace' }, { logger: { stream } })
  await s.createUser('secretive@example.com')
  const tokens = await s.login('secretive@example.com')
  await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: { ...bearer(tokens.accessToken), cookie: `token=${tokens.accessToken}` } })
  const ticket = (await s.request({ method: 'GET', url: '/v1/user-service/user/ticket', headers: bearer(tokens.accessToken) })).json().ticket
  await s.request({ method: 'POST', url: `/v1/user-service/user/ticket/${ticket}`, payload: { ticket } })
  await s.request({ method: 'POST', url: '/v1/user-service/user/refreshtoken', payload: { refreshToken: tokens.refreshToken } })
  await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'secretive@example.com', password: 'wrong password here' } })

  assert.ok(log.includes('incoming request'), 'requests are logged at all')
  for (const secret of [PASSWORD, 'wrong password here', tokens.accessToken, tokens.refreshToken, ticket]) {
    assert.ok(!log.includes(secret), `log leaks ${secret.slice(0, 6)}...`)
  }
  assert.ok(log.includes('/v1/user-service/user/ticket/[redacted]'))
})
