/**
 * The web host's CSRF check (double submit). `GET /api/csrf` and the sign-in page set a
 * random `bbl_csrf_token` cookie; a request then repeats its value (header
 * `x-bbl-csrf-token`, or the page's hidden field). Another site can make a browser send
 * the cookie but cannot read it, so it cannot repeat it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { csrfErrorBody, type CsrfFailure } from '@bambu-cloud/protocol'
import { constantTimeEqual, randomToken } from '../lib/secrets.ts'
import { readCookies, setCsrfCookie } from './cookies.ts'

export const CSRF_COOKIE = 'bbl_csrf_token'
export const CSRF_HEADER = 'x-bbl-csrf-token'

/** What our tokens look like (randomToken(32)); anything else in the cookie is replaced. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/

/** Sets a fresh token as the cookie; the token. */
export function issueCsrfToken(reply: FastifyReply, publicUrl: string): string {
  const token = randomToken(32)
  setCsrfCookie(reply, CSRF_COOKIE, token, publicUrl)
  return token
}

/** The browser's current token, or a fresh one set as the cookie (so two open pages share one). */
export function csrfTokenFor(request: FastifyRequest, reply: FastifyReply, publicUrl: string): string {
  const current = readCookies(request)[CSRF_COOKIE]
  return current !== undefined && TOKEN_SHAPE.test(current) ? current : issueCsrfToken(reply, publicUrl)
}

/** The cookie's token, if the request carries one. */
export function csrfCookieOf(request: FastifyRequest): string | undefined {
  return readCookies(request)[CSRF_COOKIE] || undefined
}

/** Why a cookie and the value repeated beside it fail the check; null when they match. */
export function csrfFailure(cookie: string | undefined, repeated: string | undefined): CsrfFailure | null {
  if (!cookie) return 'missing_cookie'
  if (!repeated) return 'missing_header'
  return constantTimeEqual(cookie, repeated) ? null : 'mismatch'
}

/**
 * An onRequest hook for the web host's API: the check runs before the body is read. A
 * request with neither cookie nor header passes unless `strict` (older clients send neither).
 */
export function csrfGuard(mode: 'lenient' | 'strict') {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const cookie = csrfCookieOf(request)
    const header = request.headers[CSRF_HEADER]
    const repeated = typeof header === 'string' && header !== '' ? header : undefined
    if (cookie === undefined && repeated === undefined && mode === 'lenient') return
    const failure = csrfFailure(cookie, repeated)
    if (failure !== null) return reply.code(403).type('application/json; charset=utf-8').send(csrfErrorBody(failure))
  }
}
