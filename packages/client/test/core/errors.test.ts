import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  AuthenticationError,
  BadRequestError,
  BambuApiError,
  BambuCloud,
  BambuCloudError,
  ConnectionError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  PrintControlError,
  RateLimitError,
  TimeoutError,
  UnprocessableEntityError,
} from '@bambu-cloud/client'
import { clientOf, startCloud } from '../helpers/cloud.ts'
import { json, startMock } from '../helpers/mock.ts'

const CASES = [
  [400, BadRequestError, { code: 2, error: 'Incorrect password' }],
  [401, AuthenticationError, { code: 4, error: 'Please login.', message: '' }],
  [403, PermissionDeniedError, { message: 'permission denied', code: 8, error: 'Resource forbidden' }],
  [404, NotFoundError, { code: 1004, error: 'Not found' }],
  [422, UnprocessableEntityError, { code: 1001, error: 'Invalid input parameters' }],
  [429, RateLimitError, { code: 1009, error: 'Too many requests' }],
  [500, InternalServerError, { code: 1011, error: 'Internal server error' }],
  [503, InternalServerError, { code: 1012, error: 'Service unavailable' }],
  [409, BambuApiError, { code: 1006, error: 'Conflict' }],
] as const

const SUBCLASSES = [BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError, UnprocessableEntityError, RateLimitError, InternalServerError]

test('each status becomes its error class, carrying status, code, error and the parsed body', async (t) => {
  const mock = await startMock(t, (hit, res) => {
    const [status, , body] = CASES.find(([s]) => hit.url === `/status/${s}`)!
    json(res, status, body)
  })
  const cloud = new BambuCloud({ baseUrl: mock.baseUrl, maxRetries: 0 })
  for (const [status, Class, body] of CASES) {
    const err = await cloud.request({ method: 'GET', path: `/status/${status}` }).catch((e: unknown) => e)
    assert.ok(err instanceof BambuApiError, String(status))
    assert.ok(err instanceof Class, `${status} is ${Class.name}`)
    for (const Other of SUBCLASSES) if (Other !== Class) assert.ok(!(err instanceof Other), `${status} is not ${Other.name}`)
    assert.equal(err.name, Class.name)
    assert.equal(err.status, status)
    assert.equal(err.code, body.code)
    assert.equal(err.error, body.error)
    assert.deepEqual(err.body, body)
    const detail = 'message' in body && body.message ? `: ${body.message}` : ''
    assert.equal(err.message, `${status} ${body.error} (code ${body.code})${detail}`)
  }
})

test('BambuApiError.from is the one factory from a status', () => {
  assert.ok(BambuApiError.from(403, {}) instanceof PermissionDeniedError)
  assert.ok(BambuApiError.from(502, undefined) instanceof InternalServerError)
  const other = BambuApiError.from(418, { code: 7, error: 'Teapot' })
  assert.equal(other.constructor, BambuApiError)
  assert.equal(other.message, '418 Teapot (code 7)')
})

test('an error body that is not JSON is kept as text, with null code and error', async (t) => {
  const mock = await startMock(t, (_hit, res) => {
    res.writeHead(502, { 'content-type': 'text/html' })
    res.end('<h1>Bad gateway</h1>')
  })
  const cloud = new BambuCloud({ baseUrl: mock.baseUrl, maxRetries: 0 })
  const err = await cloud.devices.list().catch((e: unknown) => e)
  assert.ok(err instanceof InternalServerError)
  assert.equal(err.body, '<h1>Bad gateway</h1>')
  assert.equal(err.code, null)
  assert.equal(err.error, null)
  assert.equal(err.message, '502')
})

test('a success that is not JSON is a BambuApiError, not a crash in the caller', async (t) => {
  const mock = await startMock(t, (_hit, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('hello')
  })
  const cloud = new BambuCloud({ baseUrl: mock.baseUrl })
  const err = await cloud.devices.list().catch((e: unknown) => e)
  assert.ok(err instanceof BambuApiError)
  assert.equal(err.status, 200)
  assert.equal(err.body, 'hello')
})

test('no token, refresh token or ticket appears in an error', async (t) => {
  const mock = await startMock(t, (hit, res) => json(res, hit.url.includes('refreshtoken') ? 400 : 401, { code: 4, error: 'Please login.', message: '' }))
  const secrets = ['access-secret-0123456789abcdef', 'refresh-secret-0123456789abcdef', 'ticket-secret-0123456789abcdef']
  const cloud = new BambuCloud({ baseUrl: mock.baseUrl, accessToken: secrets[0], refreshToken: secrets[1] })
  const errors = await Promise.all([
    cloud.user.profile().catch((e: unknown) => e),
    cloud.auth.refresh().catch((e: unknown) => e),
    cloud.auth.exchangeTicket(secrets[2]!).catch((e: unknown) => e),
  ])
  assert.equal(mock.hits.filter((h) => h.authorization === `Bearer ${secrets[0]}`).length, 1, 'the token was sent')
  for (const err of errors) {
    assert.ok(err instanceof BambuApiError)
    const text = `${String(err)} ${err.stack} ${JSON.stringify(err)} ${JSON.stringify(err.body)}`
    for (const secret of secrets) assert.ok(!text.includes(secret), `${err.name} mentions a secret`)
  }
})

test('a closed port is a ConnectionError (not a timeout, not an API error)', async () => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  const cloud = new BambuCloud({ baseUrl: `http://127.0.0.1:${port}`, accessToken: 'secret-token-abcdef', retryBaseDelayMs: 1 })
  const err = await cloud.devices.list().catch((e: unknown) => e)
  assert.ok(err instanceof ConnectionError)
  assert.ok(!(err instanceof TimeoutError))
  assert.ok(!(err instanceof BambuApiError))
  assert.equal(err.name, 'ConnectionError')
  assert.equal(err.message, 'Connection error.')
  assert.ok(err.cause instanceof Error)
  assert.ok(!String(err.stack).includes('secret-token-abcdef'))
})

test('every SDK error is a BambuCloudError, keeps its own class name, and carries what led to it as cause', async (t) => {
  for (const Class of [BambuApiError, ...SUBCLASSES]) {
    const err = new Class(418, undefined)
    assert.ok(err instanceof BambuCloudError && err instanceof Error, Class.name)
    assert.equal(err.name, Class.name)
    assert.equal(err.headers.get('retry-after'), null)
  }
  for (const err of [new ConnectionError(), new TimeoutError(5), new PrintControlError('refused')]) {
    assert.ok(err instanceof BambuCloudError, err.name)
  }
  assert.equal(new PrintControlError('refused').name, 'PrintControlError')
  const mock = await startMock(t, (_hit, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{not json')
  })
  const err = await new BambuCloud({ baseUrl: mock.baseUrl }).devices.list().catch((e: unknown) => e)
  assert.ok(err instanceof BambuApiError)
  assert.ok(err.cause instanceof SyntaxError, 'the JSON parse failure is the cause')
})

test('a 429 from a real server reaches the caller as a RateLimitError with its Retry-After header', async (t) => {
  const cloud = await startCloud(t, { LOGIN_FAILURES_PER_ACCOUNT: '1' })
  await cloud.s.createUser('limited@example.com')
  const { client } = clientOf(cloud)
  const first = await client.auth.login({ account: 'limited@example.com', password: 'not the password' }).catch((e: unknown) => e)
  assert.ok(first instanceof BadRequestError)
  const err = await client.auth.login({ account: 'limited@example.com', password: 'not the password' }).catch((e: unknown) => e)
  assert.ok(err instanceof RateLimitError && err instanceof BambuCloudError)
  assert.equal(err.status, 429)
  const retryAfter = err.headers.get('retry-after')
  assert.equal(retryAfter, String(cloud.s.config.rateLimits.windowMs / 1000))
  assert.match(err.message, new RegExp(`^429 .*try again in ${retryAfter} seconds`))
})
