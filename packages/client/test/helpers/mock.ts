/**
 * A small scripted HTTP server (plain node:http, not bambu-cloud) for the SDK's transport
 * behaviour: each request is recorded with its arrival time, and a script decides the
 * answer. Times are the mock's own (performance.now), so tests never time themselves.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import { performance } from 'node:perf_hooks'

export interface Hit {
  method: string
  url: string
  authorization: string | undefined
  contentType: string | undefined
  body: string
  /** When the request arrived, in the mock's monotonic clock (ms). */
  at: number
  /** When the request arrived, epoch ms (for HTTP-date comparisons). */
  wallAt: number
  /** When the mock finished answering it; undefined while unanswered. */
  answeredAt?: number
}

export type Script = (hit: Hit, res: ServerResponse, n: number) => void | Promise<void>

export interface Mock {
  baseUrl: string
  hits: Hit[]
  /** Hits to one path. */
  to(path: string): Hit[]
}

export async function startMock(t: TestContext, script: Script): Promise<Mock> {
  const hits: Hit[] = []
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const hit: Hit = {
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      body: Buffer.concat(chunks).toString('utf8'),
      at: performance.now(),
      wallAt: Date.now(),
    }
    hits.push(hit)
    res.on('finish', () => {
      hit.answeredAt = performance.now()
    })
    await script(hit, res, hits.length)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const { port } = server.address() as AddressInfo
  return { baseUrl: `http://127.0.0.1:${port}`, hits, to: (path) => hits.filter((h) => h.url.split('?')[0] === path) }
}

/** Answers JSON with a status and extra headers. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

/** The API's 401 body. */
export const PLEASE_LOGIN = { code: 4, error: 'Please login.', message: '' }

/** A token answer with the seven wire fields. */
export function tokenBody(accessToken: string, refreshToken: string) {
  return { accessToken, refreshToken, expiresIn: 7776000, refreshExpiresIn: 7776000, tfaKey: '', accessMethod: 'refresh', loginType: '' }
}
