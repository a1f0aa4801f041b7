/**
 * In-process signals: a listener that throws fails alone. The code that emitted carries on,
 * the other listeners still hear the signal, and the error is logged once.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { Signal } from '../src/lib/signal.ts'
import { bearer, startTestApp } from './helpers/app.ts'

test('a throwing listener is reported once and neither the emitter nor the listeners after it notice', () => {
  const reported: unknown[] = []
  const signal = new Signal<number>((err) => reported.push(err))
  const heard: number[] = []
  signal.on(() => {
    throw new Error('listener broke')
  })
  signal.on((value) => heard.push(value))
  signal.emit(1)
  signal.emit(2)
  assert.deepEqual(heard, [1, 2])
  assert.deepEqual(
    reported.map((err) => (err as Error).message),
    ['listener broke', 'listener broke'],
  )
})

test('a logout succeeds when a listener of login revocations throws; the others still run and the error is logged once', async (t) => {
  let log = ''
  const stream = new Writable({
    write(chunk, _enc, cb) {
      log += chunk.toString()
      cb()
    },
  })
  const s = await startTestApp(t, { LOG_LEVEL: 'error' }, { logger: { stream } })
  await s.createUser('listener@example.com')
  const tokens = await s.login('listener@example.com')
  const heard: unknown[] = []
  s.app.services.tokens.revoked.on(() => {
    throw new Error('revocation listener broke')
  })
  s.app.services.tokens.revoked.on((revocation) => heard.push(revocation))

  const res = await s.request({ method: 'POST', url: '/v1/user-service/my/logout', headers: bearer(tokens.accessToken), payload: {} })
  assert.equal(res.statusCode, 200)
  assert.equal(heard.length, 1)
  const profile = await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(tokens.accessToken) })
  assert.equal(profile.statusCode, 401, 'the login is revoked')
  const failures = log.split('\n').filter((line) => line.includes('revocation listener broke'))
  assert.equal(failures.length, 1)
  assert.equal(JSON.parse(failures[0]!).msg, 'a listener of login revocations failed')
})
