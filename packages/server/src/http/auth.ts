/**
 * Who may call what. Each route says `config.auth`: `none`, `user` (the default: a Bearer
 * access token) or `admin` (the operator's ADMIN_TOKEN). Checked before the body is even
 * validated, so an anonymous caller learns nothing about a route's inputs.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiError } from '../errors.ts'
import { constantTimeEqual } from '../lib/secrets.ts'
import type { RouteAuth } from './types.ts'

export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization
  if (typeof header !== 'string') return null
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match ? match[1]! : null
}

export function registerAuth(app: FastifyInstance, adminToken: string): void {
  app.decorateRequest('principal', null)
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404 || request.method === 'OPTIONS') return
    const auth: RouteAuth = request.routeOptions.config.auth ?? 'user'
    if (auth === 'none') return
    const token = bearerToken(request)
    if (auth === 'admin') {
      if (token === null || !constantTimeEqual(token, adminToken)) throw new ApiError('adminUnauthorized')
      // Admin answers carry TFA secrets, access codes and login codes: no cache may keep them.
      reply.header('cache-control', 'no-store')
      return
    }
    const principal = token === null ? null : await app.services.tokens.authenticate(token)
    if (!principal) throw new ApiError('unauthorized')
    request.principal = principal
  })
}
