/**
 * The upload flow over real HTTP: a test app listening on a loopback port that is also its
 * PUBLIC_URL, so the signed URLs it hands out are fetched exactly as given.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { startTestApp, type TestApp } from './app.ts'
import { freePort } from './ports.ts'

export interface HttpApp extends TestApp {
  base: string
  /** A user's fetch: JSON in and out, Bearer token. */
  as(token: string): (method: string, url: string, body?: unknown) => Promise<{ status: number; body: any }>
  filesDir: string
}

export async function startHttpApp(t: TestContext, env: Record<string, string> = {}): Promise<HttpApp> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const s = await startTestApp(t, { PUBLIC_URL: base, ...env })
  await s.app.listen({ port, host: '127.0.0.1' })
  const as = (token: string) => async (method: string, url: string, body?: unknown) => {
    const res = await fetch(base + url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
  }
  return Object.assign(s, { base, as, filesDir: path.join(s.config.dataDir, 'files') })
}

/** The blob key a signed file URL names: `/files/<id>/<file>` is `projects/<id>/<file>`. */
export function keyOfUrl(url: string): string {
  const [, , project, file] = new URL(url).pathname.split('/')
  return `projects/${project}/${file}`
}

export const md5 = (buf: Buffer) => createHash('md5').update(buf).digest('hex')

/** PUT bytes to a signed URL as a presigned-URL client does: no token, no Content-Type. */
export async function putFile(url: string, body: Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'PUT', body: new Uint8Array(body), headers })
  const text = await res.text()
  return { status: res.status, etag: res.headers.get('etag'), body: text === '' ? undefined : JSON.parse(text) }
}

/** GET a signed URL without any token; the bytes and the Content-Type. */
export async function download(url: string) {
  const res = await fetch(url)
  return { status: res.status, type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) }
}

/**
 * A raw PUT with node:http: `announce` sets Content-Length without sending that much
 * (the server must answer first), `chunks` are sent chunked (no Content-Length).
 */
export function rawPut(url: string, options: { announce?: number; chunks?: Buffer[] }): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: options.announce === undefined ? {} : { 'content-length': String(options.announce) } })
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }))
      res.on('error', reject)
    })
    // The server may close its side while we still send: what counts is its answer.
    req.on('error', (err) => reject(err))
    if (options.announce !== undefined) {
      req.flushHeaders()
      return
    }
    const chunks = [...(options.chunks ?? [])]
    const write = () => {
      while (chunks.length > 0) {
        if (!req.write(chunks.shift()!)) return void req.once('drain', write)
      }
      req.end()
    }
    write()
  })
}

/** Every file under a directory (recursive), relative paths. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath ?? (d as unknown as { path: string }).path, d.name)))
    .sort()
}

/** Polls the notification until it is no longer running; returns the last answer. */
export async function pollUntilDone(call: HttpApp['as'] extends (t: string) => infer F ? F : never, ticket: string) {
  for (let i = 0; i < 500; i++) {
    const res = await call('GET', `/v1/iot-service/api/user/notification?action=upload&ticket=${ticket}`)
    if (!(res.status === 200 && res.body.message === 'running')) return res
    await new Promise((r) => setTimeout(r, 10))
  }
  assert.fail('the upload never finished')
}

/** Replaces every signed file link in a value by a marker, to compare the rest exactly. */
export function withoutLinks(value: unknown, base: string): unknown {
  if (typeof value === 'string') return value.startsWith(`${base}/files/`) ? '<link>' : value
  if (Array.isArray(value)) return value.map((v) => withoutLinks(v, base))
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutLinks(v, base)]))
  return value
}
