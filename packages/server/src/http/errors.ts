/**
 * The one place errors become responses: every failure, ours or the framework's, leaves
 * as the wire envelope from the error table. Never a stack trace, never a framework body.
 */
import FindMyWay from 'find-my-way'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ErrorTable, errorBody, errorNameForStatus, type ErrorBody, type ErrorName } from '@bambu-cloud/protocol'
import { ApiError } from '../errors.ts'

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/** Clients treat any error mentioning this word as a block page, so it never appears. */
function scrub(body: ErrorBody): ErrorBody {
  const clean = (s: string) => s.replace(/cloudflare/gi, '')
  return body.message === undefined
    ? { code: body.code, error: clean(body.error) }
    : { code: body.code, error: clean(body.error), message: clean(body.message) }
}

function send(reply: FastifyReply, status: number, body: ErrorBody, headers: Record<string, string> = {}) {
  reply.headers(headers).code(status).type('application/json; charset=utf-8').send(scrub(body))
}

/**
 * Fastify's `frameworkErrors`: errors the router raises before any route runs (a URL whose
 * percent-encoding is broken, a path segment past the router's length limit).
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return send(reply, 414, errorBody('uriTooLong'))
  if (error.code === 'FST_ERR_BAD_URL') return send(reply, 400, errorBody('badRequest', 'The URL is not valid percent-encoding'))
  return send(reply, 500, errorBody('internal', 'The server could not complete the request'))
}

export function registerErrorHandling(app: FastifyInstance): void {
  // Mirrors the route table so a 404 can tell "no such path" from "wrong method".
  const router = FindMyWay({ ignoreTrailingSlash: false })
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const m of methods) {
      if (!(METHODS as readonly string[]).includes(m)) continue
      try {
        router.on(m as (typeof METHODS)[number], route.url, () => {})
      } catch {
        // Duplicate registrations (HEAD for GET) are fine to skip.
      }
    }
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/'
    const allowed = METHODS.filter((m) => m !== request.method && router.find(m, path) !== null)
    if (allowed.length > 0) {
      send(reply, 405, errorBody('methodNotAllowed', `Use ${allowed.join(', ')} on this path`), { allow: allowed.join(', ') })
    } else {
      send(reply, 404, errorBody('notFound', 'No such route'))
    }
  })

  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) return send(reply, error.status, error.body, error.headers)
    const fe = error as FastifyError
    if (fe.validation) {
      return send(reply, 400, errorBody('badRequest', fe.message))
    }
    const status = fe.statusCode ?? 500
    if (status >= 400 && status < 500) {
      const name = errorNameForStatus(status)
      const message =
        fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'The request body is larger than the server accepts'
          : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'Unsupported Content-Type'
            : undefined
      return send(reply, status, errorBody(name, message))
    }
    request.log.error({ err: error }, 'request failed')
    return send(reply, 500, errorBody('internal', 'The server could not complete the request'))
  })
}
