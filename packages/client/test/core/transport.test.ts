import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  BambuApiError,
  BambuCloud,
  ConnectionError,
  InternalServerError,
  RateLimitError,
  TimeoutError,
  type BambuCloudOptions,
} from '@bambu-cloud/client'
import { json, startMock, type Script } from '../helpers/mock.ts'

const BIND = '/v1/iot-service/api/user/bind'
const DEVICES = { message: 'success', code: null, error: null, devices: [] }
const UNAVAILABLE = { code: 1012, error: 'Service unavailable' }

async function setup(t: Parameters<typeof startMock>[0], script: Script, options: BambuCloudOptions = {}) {
  const mock = await startMock(t, script)
  const cloud = new BambuCloud({ baseUrl: mock.baseUrl, accessToken: 'a1', retryBaseDelayMs: 1, ...options })
  return { mock, cloud }
}

/** Answers `statuses` in turn (with `headers`), then 200 with `body`. */
function sequence(statuses: number[], body: unknown = DEVICES, headers: Record<string, string> = {}): Script {
  return (_hit, res, n) => {
    const status = statuses[n - 1]
    if (status === undefined) return json(res, 200, body)
    json(res, status, status === 429 ? { code: 1009, error: 'Too many requests' } : UNAVAILABLE, headers)
  }
}

test('GET is retried on 503 and 429 until it succeeds', async (t) => {
  const { mock, cloud } = await setup(t, sequence([503, 429], DEVICES, { 'retry-after': '0' }))
  assert.deepEqual(await cloud.devices.list(), [])
  assert.equal(mock.hits.length, 3)
  assert.ok(mock.hits.every((h) => h.method === 'GET' && h.url === BIND))
})

test('502 and 504 are retried too; 500 and 400 are not', async (t) => {
  const retried = await setup(t, sequence([502, 504]))
  assert.deepEqual(await retried.cloud.devices.list(), [])
  assert.equal(retried.mock.hits.length, 3)

  for (const status of [500, 400]) {
    const once = await setup(t, sequence([status, status]))
    await assert.rejects(once.cloud.devices.list(), (err) => err instanceof BambuApiError && err.status === status)
    assert.equal(once.mock.hits.length, 1, String(status))
  }
})

test('Retry-After in seconds is waited out before the retry (measured by the mock)', async (t) => {
  const { mock, cloud } = await setup(t, sequence([429], DEVICES, { 'retry-after': '1' }))
  assert.deepEqual(await cloud.devices.list(), [])
  assert.equal(mock.hits.length, 2)
  const waited = mock.hits[1]!.at - mock.hits[0]!.answeredAt!
  assert.ok(waited >= 950, `retried after ${waited} ms`)
})

test('Retry-After as an HTTP date is waited out until that time', async (t) => {
  let until = 0
  const { mock, cloud } = await setup(t, (_hit, res, n) => {
    if (n > 1) return json(res, 200, DEVICES)
    const date = new Date(Date.now() + 2000).toUTCString()
    until = Date.parse(date)
    json(res, 503, UNAVAILABLE, { 'retry-after': date })
  })
  await cloud.devices.list()
  assert.equal(mock.hits.length, 2)
  assert.ok(mock.hits[1]!.wallAt >= until - 50, `retried ${until - mock.hits[1]!.wallAt} ms early`)
})

test('retries stop after maxRetries (default 2, or per call) with the last error', async (t) => {
  const { mock, cloud } = await setup(t, (_hit, res) => json(res, 503, UNAVAILABLE, { 'retry-after': '0' }))
  const err = await cloud.devices.list().catch((e: unknown) => e)
  assert.ok(err instanceof InternalServerError)
  assert.equal(err.status, 503)
  assert.equal(err.code, 1012)
  assert.equal(mock.hits.length, 3)

  await assert.rejects(cloud.devices.list({ maxRetries: 0 }), InternalServerError)
  assert.equal(mock.hits.length, 4)
  const five = new BambuCloud({ baseUrl: mock.baseUrl, accessToken: 'a1', retryBaseDelayMs: 1, maxRetries: 5 })
  await assert.rejects(five.devices.list(), InternalServerError)
  assert.equal(mock.hits.length, 10)
})

test('POST and PATCH are never retried; PUT and DELETE are', async (t) => {
  const { mock, cloud } = await setup(t, (_hit, res) => json(res, 429, { code: 1009, error: 'Too many requests' }, { 'retry-after': '0' }))
  await assert.rejects(cloud.user.createTask({ deviceId: 'DEV1' }), RateLimitError)
  assert.deepEqual(mock.hits.map((h) => h.method), ['POST'])
  await assert.rejects(cloud.devices.rename('DEV1', 'x'), RateLimitError)
  assert.deepEqual(mock.hits.map((h) => h.method), ['POST', 'PATCH'])
  await assert.rejects(cloud.slicer.settings.delete('PFUS1'), RateLimitError)
  await assert.rejects(cloud.request({ method: 'PUT', path: '/v1/iot-service/api/user/notification', body: {} }), RateLimitError)
  assert.deepEqual(mock.hits.map((h) => h.method), ['POST', 'PATCH', 'DELETE', 'DELETE', 'DELETE', 'PUT', 'PUT', 'PUT'])
})

test('a broken connection is retried for GET and is a ConnectionError for POST', async (t) => {
  const { mock, cloud } = await setup(t, (hit, res, n) => {
    if (n === 1 || hit.method === 'POST') return void res.socket?.destroy()
    json(res, 200, DEVICES)
  })
  assert.deepEqual(await cloud.devices.list(), [])
  assert.equal(mock.hits.length, 2)
  const err = await cloud.user.createTask({ deviceId: 'DEV1' }).catch((e: unknown) => e)
  assert.ok(err instanceof ConnectionError)
  assert.ok(!(err instanceof TimeoutError))
  assert.ok(!(err instanceof BambuApiError))
  assert.ok(err.cause !== undefined)
  assert.equal(mock.hits.length, 3)
})

test('no answer within timeoutMs is a TimeoutError; idempotent calls try again first', async (t) => {
  const { mock, cloud } = await setup(t, () => {}, { timeoutMs: 50, maxRetries: 1 })
  const err = await cloud.devices.list().catch((e: unknown) => e)
  assert.ok(err instanceof TimeoutError)
  assert.ok(err instanceof ConnectionError)
  assert.ok(!(err instanceof BambuApiError))
  assert.equal(err.name, 'TimeoutError')
  assert.equal(mock.hits.length, 2)
  await assert.rejects(cloud.auth.ticket({ maxRetries: 0 }), TimeoutError)
  assert.equal(mock.hits.length, 3)
  await assert.rejects(cloud.devices.ttcode('DEV1'), TimeoutError)
  assert.equal(mock.hits.length, 4, 'POST is not retried')
})

test('the timeout covers the body too, and timeoutMs can be set per call', async (t) => {
  const { mock, cloud } = await setup(t, (_hit, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('{"devices":')
  })
  await assert.rejects(cloud.devices.list({ timeoutMs: 50, maxRetries: 0 }), TimeoutError)
  assert.equal(mock.hits.length, 1)
})

test('an AbortSignal aborts the call in flight: rejects with its reason, no retry', async (t) => {
  const controller = new AbortController()
  const { mock, cloud } = await setup(t, () => controller.abort())
  const err = await cloud.devices.list({ signal: controller.signal }).catch((e: unknown) => e)
  assert.ok(err instanceof Error)
  assert.equal(err.name, 'AbortError')
  assert.ok(!(err instanceof ConnectionError))
  assert.equal(mock.hits.length, 1)

  const reason = new Error('user cancelled')
  const already = AbortSignal.abort(reason)
  await assert.rejects(cloud.devices.list({ signal: already }), (e) => e === reason)
  assert.equal(mock.hits.length, 1, 'an aborted signal sends nothing')
})

test('an AbortSignal also ends the wait before a retry', { timeout: 20_000 }, async (t) => {
  const controller = new AbortController()
  const reason = new Error('stop waiting')
  const { mock, cloud } = await setup(t, (_hit, res) => {
    res.on('finish', () => setTimeout(() => controller.abort(reason), 50))
    json(res, 503, UNAVAILABLE, { 'retry-after': '30' })
  })
  await assert.rejects(cloud.devices.list({ signal: controller.signal }), (e) => e === reason)
  assert.equal(mock.hits.length, 1)
})

test('requests carry Accept and the Bearer token; a JSON body only with Content-Type', async (t) => {
  const { mock, cloud } = await setup(t, (_hit, res) => json(res, 200, { ...DEVICES, id: 1 }))
  await cloud.devices.list()
  await cloud.user.createTask({ deviceId: 'DEV1', title: 'Benchy' })
  const [get, post] = mock.hits
  assert.equal(get!.contentType, undefined, 'no Content-Type on GET, as the cloud’s clients')
  assert.equal(get!.body, '')
  assert.equal(get!.authorization, 'Bearer a1')
  assert.equal(post!.contentType, 'application/json')
  assert.deepEqual(JSON.parse(post!.body), { deviceId: 'DEV1', title: 'Benchy' })
})
