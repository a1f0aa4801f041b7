/**
 * Slow clients cannot hold connections open: a request's headers must be in within
 * HEADERS_TIMEOUT (Node's own check), its body within REQUEST_TIMEOUT of its headers.
 * Uploads are timed by their progress instead (upload-body.ts), as a large file on a slow
 * link may legitimately take long. A cut request gets the 408 envelope when nothing of its
 * answer has been sent yet, and its connection closes.
 */
import { STATUS_CODES, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { ErrorTable, errorBody, type ErrorName } from '@bambu-cloud/protocol'
import type { Timeouts } from '../config.ts'

/** Answers on the bare socket (the request was never handed to a route, or is abandoned), then closes it. */
function closeWithError(socket: Socket, kind: ErrorName, inFlight: ServerResponse | undefined, message?: string): void {
  if (socket.writable && !inFlight?.headersSent) {
    const { status } = ErrorTable[kind]
    const body = JSON.stringify(errorBody(kind, message))
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}

/**
 * Node's connection errors (headers too slow or too large, unparsable requests) in the
 * envelope. The error itself is not logged: it carries the raw request, headers included.
 */
function onClientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [kind, message]: [ErrorName, string | undefined] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? ['requestTimeout', undefined]
      : err.code === 'HPE_HEADER_OVERFLOW' ? ['headersTooLarge', undefined]
        : ['badRequest', 'The request is not valid HTTP/1.1']
  this.log.debug({ code: err.code }, 'client error; connection closed')
  // As Node itself does: no answer of ours may be half-written on a kept-alive connection.
  closeWithError(socket, kind, (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage, message)
}

/** Server options for the headers timeout and connection errors. */
export function connectionOptions(timeouts: Timeouts): { http: ServerOptions; clientErrorHandler: typeof onClientError } {
  return {
    // REQUEST_TIMEOUT is enforced below, as uploads are exempt. Node checks headers every
    // 30 s by default, which would stretch a short timeout by that much; each second is cheap.
    http: { headersTimeout: timeouts.headersMs, requestTimeout: 0, connectionsCheckingInterval: 1000 },
    clientErrorHandler: onClientError,
  }
}

/** How to stop each running request's clock. */
const requestClocks = new WeakMap<IncomingMessage, () => void>()

/**
 * Cuts a request whose body is not all in within `ms` of its headers, whether a route reads
 * it or it is drained after the answer. Node's own `requestTimeout` would do this, but for
 * every route, uploads included.
 */
export function enforceRequestTimeout(server: Server, ms: number, log: FastifyBaseLogger): void {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket
    const timer = setTimeout(() => {
      stop()
      if (req.complete) return
      log.debug('request body too slow; connection closed')
      closeWithError(socket, 'requestTimeout', res)
    }, ms)
    const stop = () => {
      clearTimeout(timer)
      requestClocks.delete(req)
      socket.off('close', stop)
    }
    requestClocks.set(req, stop)
    req.once('end', stop)
    // A kept-alive connection outlives its requests; a closed one ends them all.
    socket.once('close', stop)
  })
}

/** For a body timed by its own progress instead (uploads). */
export function exemptFromRequestTimeout(req: IncomingMessage): void {
  requestClocks.get(req)?.()
}
