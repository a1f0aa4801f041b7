import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { PASSWORD, bearer, startTestApp } from './helpers/app.ts'

interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** A request over a real socket, with exactly the headers given (no Content-Type unless set). */
function raw(port: number, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
    })
    req.on('error', reject)
    if (body !== undefined) req.end(body)
    else req.end()
  })
}

async function listening(t: Parameters<typeof startTestApp>[0]) {
  const s = await startTestApp(t)
  await s.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (s.app.server.address() as AddressInfo).port
  await s.createUser('maker@example.com')
  return { s, port }
}

function assertEnvelope(res: RawResponse, status: number) {
  assert.equal(res.status, status, res.body)
  assert.match(String(res.headers['content-type']), /^application\/json/)
  const body = JSON.parse(res.body)
  assert.equal(typeof body.code, 'number')
  assert.equal(typeof body.error, 'string')
  assert.ok(!('stack' in body) && !('statusCode' in body), 'no framework fields')
  assert.ok(!/cloudflare/i.test(res.body))
  assert.ok(!/\bat .*\.ts:\d+/.test(res.body), 'no stack trace')
  return body
}

async function stillServing(port: number) {
  const health = await raw(port, 'GET', '/healthz', {})
  assert.equal(health.status, 200)
  const login = await raw(port, 'POST', '/v1/user-service/user/login', { 'content-type': 'application/json' }, JSON.stringify({ account: 'maker@example.com', password: PASSWORD }))
  assert.equal(login.status, 200)
}

const LOGIN = '/v1/user-service/user/login'
const JSON_CT = { 'content-type': 'application/json' }

test('malformed JSON is a 400 envelope and the server keeps serving', async (t) => {
  const { port } = await listening(t)
  for (const text of ['{"account":', 'not json', '{"a":1}}', '[1,2', '\u0000']) {
    const body = assertEnvelope(await raw(port, 'POST', LOGIN, JSON_CT, text), 400)
    assert.deepEqual(body, { code: 1003, error: 'Malformed JSON', message: 'The request body is not valid JSON' })
  }
  await stillServing(port)
})

test('prototype-poisoning JSON is refused', async (t) => {
  const { port } = await listening(t)
  assertEnvelope(await raw(port, 'POST', LOGIN, JSON_CT, '{"account":"a@b.c","password":"x","__proto__":{"admin":true}}'), 400)
  await stillServing(port)
})

test('wrong types and missing fields are 400 envelopes naming the field', async (t) => {
  const { port } = await listening(t)
  const cases: [unknown, RegExp][] = [
    [{ account: 5, password: 'x' }, /account/],
    [{ account: 'maker@example.com', password: ['x'] }, /password/],
    [{ account: null, password: 'x' }, /account/],
    [{ password: 'x' }, /account/],
    [[], /object/],
    ['a string', /object/],
    [{ account: 'x'.repeat(300), password: 'x' }, /account/],
  ]
  for (const [payload, field] of cases) {
    const body = assertEnvelope(await raw(port, 'POST', LOGIN, JSON_CT, JSON.stringify(payload)), 400)
    assert.equal(body.code, 1002)
    assert.match(body.message, field)
  }
  await stillServing(port)
})

test('a 2 MiB body is refused with 413 in the envelope', async (t) => {
  const { port } = await listening(t)
  const big = JSON.stringify({ account: 'maker@example.com', password: 'x'.repeat(2 * 1024 * 1024) })
  const res = await raw(port, 'POST', LOGIN, JSON_CT, big)
  const body = assertEnvelope(res, 413)
  assert.equal(body.code, 1007)
  await stillServing(port)
})

test('an empty body with Content-Type application/json counts as {}', async (t) => {
  const { s, port } = await listening(t)
  const { accessToken } = await s.login('maker@example.com')
  const res = await raw(port, 'POST', '/v1/user-service/my/logout', { ...JSON_CT, ...bearer(accessToken) }, '')
  assert.equal(res.status, 200)
  assert.deepEqual(JSON.parse(res.body), {})
  const none = await raw(port, 'POST', LOGIN, JSON_CT, '')
  assert.match(assertEnvelope(none, 400).message, /account/)
})

test('a JSON body without Content-Type (or labelled as a form) is still JSON', async (t) => {
  const { port } = await listening(t)
  const payload = JSON.stringify({ account: 'maker@example.com', password: PASSWORD })
  const variants: Record<string, string>[] = [{}, { 'content-type': 'application/x-www-form-urlencoded' }, { 'content-type': 'text/plain' }]
  for (const headers of variants) {
    const res = await raw(port, 'POST', LOGIN, headers, payload)
    assert.equal(res.status, 200, `${JSON.stringify(headers)}: ${res.body}`)
    assert.equal(typeof JSON.parse(res.body).accessToken, 'string')
  }
})

test('unknown routes are 404 and wrong methods 405, both in the envelope', async (t) => {
  const { port } = await listening(t)
  const missing = assertEnvelope(await raw(port, 'GET', '/v1/no-such-service/thing', {}), 404)
  assert.equal(missing.code, 1004)
  const hostile = await raw(port, 'GET', '/cloudflare/v1/x?cloudflare=1', {})
  assertEnvelope(hostile, 404)
  const wrong = await raw(port, 'DELETE', '/v1/user-service/user/login', {})
  assert.equal(assertEnvelope(wrong, 405).code, 1005)
  assert.equal(wrong.headers.allow, 'POST')
  const wrongGet = await raw(port, 'GET', LOGIN, {})
  assertEnvelope(wrongGet, 405)
  await stillServing(port)
})

test('optional slicer headers in any letter case are accepted', async (t) => {
  const { port } = await listening(t)
  const res = await raw(port, 'POST', LOGIN, {
    ...JSON_CT,
    'x-bbl-client-type': 'slicer',
    'X-BBL-Client-Version': '01.09.00.00',
    'X-Bbl-Os-Type': 'linux',
    'X-BBL-Language': 'en',
    'accept-encoding': 'gzip, deflate',
  }, JSON.stringify({ account: 'maker@example.com', password: PASSWORD }))
  assert.equal(res.status, 200)
})
