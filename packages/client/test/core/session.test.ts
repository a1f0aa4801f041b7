import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AuthenticationError, BambuCloud, type Tokens } from '@bambu-cloud/client'
import { PLEASE_LOGIN, json, startMock, tokenBody, type Hit } from '../helpers/mock.ts'

const REFRESH = '/v1/user-service/user/refreshtoken'
const BIND = '/v1/iot-service/api/user/bind'
const DEVICES = { message: 'success', code: null, error: null, devices: [] }

function client(baseUrl: string, options: ConstructorParameters<typeof BambuCloud>[0] = {}) {
  const tokens: Tokens[] = []
  const cloud = new BambuCloud({ baseUrl, accessToken: 'a1', refreshToken: 'r1', retryBaseDelayMs: 1, onTokens: (t) => void tokens.push(t), ...options })
  return { cloud, tokens }
}

const summary = (hits: Hit[]) => hits.map((h) => `${h.method} ${h.url} ${h.authorization ?? '-'}`)

test('a 401 refreshes once with the stored refresh token, then the call is retried with the new access token', async (t) => {
  const mock = await startMock(t, (hit, res) => {
    if (hit.url === REFRESH) return json(res, 200, tokenBody('a2', 'r2'))
    if (hit.authorization === 'Bearer a2') return json(res, 200, DEVICES)
    json(res, 401, PLEASE_LOGIN)
  })
  const { cloud, tokens } = client(mock.baseUrl)
  assert.deepEqual(await cloud.devices.list(), [])
  assert.deepEqual(summary(mock.hits), [`GET ${BIND} Bearer a1`, `POST ${REFRESH} -`, `GET ${BIND} Bearer a2`])
  assert.deepEqual(JSON.parse(mock.hits[1]!.body), { refreshToken: 'r1' })
  assert.deepEqual(tokens, [{ kind: 'tokens', ...tokenBody('a2', 'r2') }])
  assert.equal(cloud.accessToken, 'a2')
  assert.equal(cloud.refreshToken, 'r2')
})

test('a call still refused after the refresh surfaces its 401: one refresh, no loop', async (t) => {
  const mock = await startMock(t, (hit, res) => {
    if (hit.url === REFRESH) return json(res, 200, tokenBody('a2', 'r2'))
    json(res, 401, PLEASE_LOGIN)
  })
  const { cloud } = client(mock.baseUrl)
  await assert.rejects(cloud.devices.list(), (err) => err instanceof AuthenticationError && err.code === 4)
  assert.deepEqual(summary(mock.hits), [`GET ${BIND} Bearer a1`, `POST ${REFRESH} -`, `GET ${BIND} Bearer a2`])
})

test('five concurrent calls refused with 401 share one refresh, and all five succeed', async (t) => {
  let staleArrived!: () => void
  const allStale = new Promise<void>((resolve) => (staleArrived = resolve))
  const mock = await startMock(t, async (hit, res) => {
    if (hit.url === REFRESH) {
      // Answer only once every call has been refused with the old token.
      await allStale
      return json(res, 200, tokenBody('a2', 'r2'))
    }
    if (hit.authorization === 'Bearer a2') return json(res, 200, { ...DEVICES, devices: [{ dev_id: hit.url }] })
    json(res, 401, PLEASE_LOGIN)
    if (mock.hits.filter((h) => h.authorization === 'Bearer a1').length === 5) staleArrived()
  })
  const { cloud, tokens } = client(mock.baseUrl)
  const results = await Promise.all([1, 2, 3, 4, 5].map(() => cloud.devices.list()))
  assert.equal(results.length, 5)
  for (const devices of results) assert.deepEqual(devices, [{ dev_id: BIND }])
  assert.equal(mock.to(REFRESH).length, 1, 'exactly one refresh')
  assert.equal(mock.hits.filter((h) => h.authorization === 'Bearer a1').length, 5)
  assert.equal(mock.hits.filter((h) => h.authorization === 'Bearer a2').length, 5)
  assert.equal(tokens.length, 1)
})

test('when the refresh fails, the original 401 surfaces and the tokens stay', async (t) => {
  const mock = await startMock(t, (hit, res) => {
    if (hit.url === REFRESH) return json(res, 401, { code: 4, error: 'Please login.', message: 'from the refresh' })
    json(res, 401, { ...PLEASE_LOGIN, message: 'original' })
  })
  const { cloud, tokens } = client(mock.baseUrl)
  const err = await cloud.user.profile().catch((e: unknown) => e)
  assert.ok(err instanceof AuthenticationError)
  assert.deepEqual(err.body, { code: 4, error: 'Please login.', message: 'original' })
  assert.equal(mock.hits.length, 2, 'the call is not retried')
  assert.deepEqual(tokens, [])
  assert.equal(cloud.accessToken, 'a1')
})

test('concurrent calls whose shared refresh fails each surface their own 401 after one refresh', async (t) => {
  const mock = await startMock(t, (hit, res) => {
    if (hit.url === REFRESH) return json(res, 400, { code: 5, error: 'Login failed' })
    json(res, 401, PLEASE_LOGIN)
  })
  const { cloud } = client(mock.baseUrl)
  const outcomes = await Promise.allSettled([1, 2, 3].map(() => cloud.user.profile()))
  for (const o of outcomes) assert.ok(o.status === 'rejected' && o.reason instanceof AuthenticationError)
  assert.equal(mock.to(REFRESH).length, 1)
})

test('without a refresh token a 401 surfaces at once', async (t) => {
  const mock = await startMock(t, (_hit, res) => json(res, 401, PLEASE_LOGIN))
  const { cloud } = client(mock.baseUrl, { refreshToken: undefined })
  await assert.rejects(cloud.user.profile(), AuthenticationError)
  assert.deepEqual(summary(mock.hits), ['GET /v1/user-service/my/profile Bearer a1'])
})

test('routes that take no token (logins) are sent without it and never refresh', async (t) => {
  const mock = await startMock(t, (_hit, res) => json(res, 401, PLEASE_LOGIN))
  const { cloud } = client(mock.baseUrl)
  await assert.rejects(cloud.auth.login({ account: 'a', password: 'b' }), AuthenticationError)
  await assert.rejects(cloud.slicer.resources(), AuthenticationError)
  assert.deepEqual(summary(mock.hits), ['POST /v1/user-service/user/login -', 'GET /v1/iot-service/api/slicer/resource -'])
})

test('a client with only a refresh token refreshes on the first 401', async (t) => {
  const mock = await startMock(t, (hit, res) => {
    if (hit.url === REFRESH) return json(res, 200, tokenBody('a2', 'r2'))
    if (hit.authorization === 'Bearer a2') return json(res, 200, DEVICES)
    json(res, 401, PLEASE_LOGIN)
  })
  const { cloud } = client(mock.baseUrl, { accessToken: undefined })
  assert.deepEqual(await cloud.devices.list(), [])
  assert.deepEqual(summary(mock.hits), [`GET ${BIND} -`, `POST ${REFRESH} -`, `GET ${BIND} Bearer a2`])
})

test('when onTokens fails to keep refreshed tokens, the call rejects with that failure, not a 401', async (t) => {
  const mock = await startMock(t, (hit, res) => {
    if (hit.url === REFRESH) return json(res, 200, tokenBody('a2', 'r2'))
    json(res, 401, PLEASE_LOGIN)
  })
  const failure = new Error('disk full')
  const { cloud } = client(mock.baseUrl, {
    onTokens: () => {
      throw failure
    },
  })
  await assert.rejects(cloud.devices.list(), (err) => err === failure)
  assert.equal(cloud.accessToken, 'a2', 'the rotated tokens are kept in memory')
})
