/**
 * A request body to stream into storage. The consumer may stop reading it (too large,
 * refused) without the connection being torn down, so the client still gets the error
 * envelope; a client that goes away mid-upload fails the stream instead of stalling it.
 * Instead of REQUEST_TIMEOUT, an upload must keep moving (UPLOAD_IDLE_TIMEOUT) and, once
 * it has run REQUEST_TIMEOUT, keep an average of UPLOAD_MIN_RATE; else it fails with 408.
 */
import type { IncomingMessage } from 'node:http'
import { PassThrough, type Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Timeouts } from '../config.ts'
import { ApiError } from '../errors.ts'
import { exemptFromRequestTimeout } from './timeouts.ts'

export function uploadBody(raw: IncomingMessage, timeouts: Timeouts): Readable {
  const body = new PassThrough()
  // The consumer sees a failure through its own pipeline; a body cut before it reads (or
  // after it refused the upload) has no reader, and its error must not end the process.
  body.on('error', () => {})
  const cut = () => {
    if (!raw.complete) body.destroy(new Error('the client went away before the upload ended'))
  }
  raw.once('close', cut)
  raw.once('error', (err) => body.destroy(err))

  exemptFromRequestTimeout(raw)
  const started = performance.now()
  let received = 0
  const idle = setTimeout(() => {
    body.destroy(new ApiError('requestTimeout', `The upload sent nothing for ${timeouts.uploadIdleMs / 1000} s (UPLOAD_IDLE_TIMEOUT)`))
  }, timeouts.uploadIdleMs)
  // The bytes in so far meet the minimum rate until `owedAt`: checked again then, cut once behind.
  let slow: NodeJS.Timeout | undefined
  const checkRate = () => {
    const owedAt = Math.max(timeouts.requestMs, (received * 1000) / timeouts.uploadMinRate)
    const elapsed = performance.now() - started
    if (elapsed < owedAt) slow = setTimeout(checkRate, owedAt - elapsed)
    else body.destroy(new ApiError('requestTimeout', `The upload is slower than ${timeouts.uploadMinRate} bytes/s (UPLOAD_MIN_RATE)`))
  }
  if (timeouts.uploadMinRate > 0) slow = setTimeout(checkRate, timeouts.requestMs)
  raw.on('data', (chunk: Buffer) => {
    received += chunk.length
    idle.refresh()
  })
  // Read to the end, or refused or cut off (its connection then closes): the clock stops.
  const socket = raw.socket
  const settle = () => {
    clearTimeout(idle)
    clearTimeout(slow)
    socket.off('close', settle)
  }
  raw.once('end', settle)
  socket.once('close', settle)
  body.once('close', () => {
    settle()
    raw.off('close', cut)
  })
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
