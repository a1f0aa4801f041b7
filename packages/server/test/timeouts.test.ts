/**
 * Slow clients over real sockets: slow headers, trickled or short JSON bodies, bodies the
 * server never reads, stalled and too-slow uploads are all cut (with the 408 envelope
 * while an answer can still be sent) and their connections close; a slow upload that
 * keeps the minimum rate outlasts REQUEST_TIMEOUT. Timeouts are set short through the
 * configuration; the tests wait for the server to close, never for a time.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { buildThreeMf, SEED_PLATE } from './helpers/three-mf.ts'
import { connectRaw, parseAnswer } from './helpers/raw-http.ts'
import { filesUnder, keyOfUrl, md5, startHttpApp, type HttpApp } from './helpers/uploads.ts'

const TIMED_OUT = { code: 1017, error: 'Request timeout' }
const GOOD = buildThreeMf({ plates: [SEED_PLATE] })

const portOf = (s: HttpApp) => Number(new URL(s.base).port)

function requestHead(method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = Object.entries({ host: '127.0.0.1', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`)
  return `${method} ${path} HTTP/1.1\r\n${lines.join('')}\r\n`
}

/** Asserts the 408 envelope, sent with `Connection: close`, as all the server said before closing. */
function assertTimedOut(text: string, body: object = TIMED_OUT) {
  const answer = parseAnswer(text)
  assert.equal(answer.status, 408, text)
  assert.equal(answer.headers.connection, 'close')
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/)
  assert.deepEqual(JSON.parse(answer.body), body)
}

async function stillServing(s: HttpApp) {
  const res = await fetch(`${s.base}/healthz`)
  assert.equal(res.status, 200)
}

test('headers that do not arrive within HEADERS_TIMEOUT are cut with the 408 envelope', { timeout: 60_000 }, async (t) => {
  const s = await startHttpApp(t, { HEADERS_TIMEOUT: '1' })
  const conn = await connectRaw(t, portOf(s))
  conn.write('POST /v1/user-service/user/login HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ')
  conn.trickle('a', 100)
  assertTimedOut(await conn.closed)
  await stillServing(s)
})

test('a JSON body trickled byte by byte is cut after REQUEST_TIMEOUT', { timeout: 60_000 }, async (t) => {
  const s = await startHttpApp(t, { REQUEST_TIMEOUT: '1' })
  await s.createUser('slow@example.com')
  const conn = await connectRaw(t, portOf(s))
  conn.write(requestHead('POST', '/v1/user-service/user/login', { 'content-type': 'application/json', 'content-length': 1000 }))
  conn.write('{"account":"slow@example.com",')
  // Whitespace is valid JSON: the body only ever grows, never ends.
  conn.trickle(' ', 100)
  assertTimedOut(await conn.closed)
  await stillServing(s)
})

test('a Content-Length larger than the body sent is cut after REQUEST_TIMEOUT', { timeout: 60_000 }, async (t) => {
  const s = await startHttpApp(t, { REQUEST_TIMEOUT: '1' })
  const body = JSON.stringify({ account: 'short@example.com', password: 'correct horse battery' })
  const conn = await connectRaw(t, portOf(s))
  conn.write(requestHead('POST', '/v1/user-service/user/login', { 'content-type': 'application/json', 'content-length': body.length + 10 }) + body)
  assertTimedOut(await conn.closed)
  await stillServing(s)
})

test('a body the server never reads cannot hold the connection: answered, then closed after REQUEST_TIMEOUT', { timeout: 60_000 }, async (t) => {
  const s = await startHttpApp(t, { REQUEST_TIMEOUT: '1' })
  const conn = await connectRaw(t, portOf(s))
  // No token: refused before the body is read; the trickle would keep a kept-alive connection open.
  conn.write(requestHead('POST', '/v1/user-service/my/logout', { 'content-type': 'application/json', 'content-length': 1000 }) + '{')
  conn.trickle(' ', 100)
  const answer = parseAnswer(await conn.closed)
  assert.equal(answer.status, 401)
  assert.deepEqual(JSON.parse(answer.body), { code: 4, error: 'Please login.', message: '' })
  await stillServing(s)
})

async function newUpload(s: HttpApp, account: string) {
  await s.createUser(account)
  const call = s.as((await s.login(account)).accessToken)
  const res = await call('POST', '/v1/iot-service/api/user/project', { name: 'slow.3mf' })
  assert.equal(res.status, 200)
  const url = new URL(res.body.upload_url as string)
  return { url: res.body.upload_url as string, path: url.pathname + url.search }
}

test('an upload that stalls is cut after UPLOAD_IDLE_TIMEOUT and leaves no staged bytes', { timeout: 60_000 }, async (t) => {
  const s = await startHttpApp(t, { UPLOAD_IDLE_TIMEOUT: '1' })
  const upload = await newUpload(s, 'stall@example.com')
  const conn = await connectRaw(t, portOf(s))
  conn.write(requestHead('PUT', upload.path, { 'content-length': GOOD.length }))
  conn.write(GOOD.subarray(0, GOOD.length >> 1))
  assertTimedOut(await conn.closed, { ...TIMED_OUT, message: 'The upload sent nothing for 1 s (UPLOAD_IDLE_TIMEOUT)' })
  assert.deepEqual(filesUnder(s.filesDir), [])
  await stillServing(s)
})

test('an upload slower than UPLOAD_MIN_RATE is cut once it has run REQUEST_TIMEOUT; no staged bytes left', { timeout: 60_000 }, async (t) => {
  const s = await startHttpApp(t, { REQUEST_TIMEOUT: '1', UPLOAD_IDLE_TIMEOUT: '60', UPLOAD_MIN_RATE: '100000' })
  const upload = await newUpload(s, 'trickle@example.com')
  const conn = await connectRaw(t, portOf(s))
  conn.write(requestHead('PUT', upload.path, { 'content-length': 10_000_000 }))
  // Never idle, but about 200 bytes a second.
  conn.trickle(Buffer.alloc(10, 0x50), 50)
  assertTimedOut(await conn.closed, { ...TIMED_OUT, message: 'The upload is slower than 100000 bytes/s (UPLOAD_MIN_RATE)' })
  assert.deepEqual(filesUnder(s.filesDir), [])
  await stillServing(s)
})

test('a slow upload that keeps the minimum rate outlasts REQUEST_TIMEOUT and is stored', { timeout: 60_000 }, async (t) => {
  const s = await startHttpApp(t, { REQUEST_TIMEOUT: '1', UPLOAD_IDLE_TIMEOUT: '10', UPLOAD_MIN_RATE: '64' })
  const upload = await newUpload(s, 'steady@example.com')
  const pieces = 12
  const size = Math.ceil(GOOD.length / pieces)
  const answer = await new Promise<{ status: number; etag: string | undefined }>((resolve, reject) => {
    const req = http.request(upload.url, { method: 'PUT', headers: { 'content-length': String(GOOD.length) } })
    req.on('response', (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag }))
    })
    req.on('error', reject)
    // Paced by events, not a clock assertion: the body takes at least 12 * 250 ms to send.
    let i = 0
    const next = () => {
      req.write(GOOD.subarray(i * size, (i + 1) * size))
      if (++i < pieces) setTimeout(next, 250)
      else req.end()
    }
    next()
  })
  assert.deepEqual(answer, { status: 200, etag: `"${md5(GOOD)}"` })
  assert.deepEqual(filesUnder(s.filesDir), [keyOfUrl(upload.url)])
})
