/**
 * A request body to stream into storage. The consumer may stop reading it (too large,
 * refused) without the connection being torn down, so the client still gets the error
 * envelope; a client that goes away mid-upload fails the stream instead of stalling it.
 */
import type { IncomingMessage } from 'node:http'
import { PassThrough, type Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'

export function uploadBody(raw: IncomingMessage): Readable {
  const body = new PassThrough()
  const cut = () => {
    if (!raw.complete) body.destroy(new Error('the client went away before the upload ended'))
  }
  raw.once('close', cut)
  raw.once('error', (err) => body.destroy(err))
  body.once('close', () => raw.off('close', cut))
  raw.pipe(body)
  return body
}

/**
 * After a refusal with part of the body unread: discard the rest and close the connection
 * once the answer is out, as Fastify does for its own body limit.
 */
export function abandonBody(request: FastifyRequest, reply: FastifyReply): void {
  if (request.raw.complete) return
  reply.header('connection', 'close')
  request.raw.unpipe()
  request.raw.resume()
}

/** The Content-Length a client announced, or null (chunked, or absent). */
export function declaredLength(request: FastifyRequest): number | null {
  const raw = request.headers['content-length']
  return typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : null
}
