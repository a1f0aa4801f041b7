/**
 * Renders a login outcome as the token body: the seven fields Bambu Studio insists on, and
 * `success`. Such answers are never cached.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { TokenReply } from '@bambu-cloud/protocol'
import type { LoginOutcome } from '../services/login.ts'
import type { TokenPair } from '../services/tokens.ts'

export function tokenReply(outcome: LoginOutcome): TokenReply {
  switch (outcome.kind) {
    case 'tokens':
      return pairReply(outcome.pair)
    case 'verifyCode':
      return { accessToken: '', refreshToken: '', expiresIn: 0, refreshExpiresIn: 0, tfaKey: '', accessMethod: '', loginType: 'verifyCode', success: true }
    case 'tfa':
      return { accessToken: '', refreshToken: '', expiresIn: 0, refreshExpiresIn: 0, tfaKey: outcome.tfaKey, accessMethod: '', loginType: 'tfa', success: true }
  }
}

export function pairReply(pair: TokenPair): TokenReply {
  return {
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    expiresIn: pair.expiresIn,
    refreshExpiresIn: pair.refreshExpiresIn,
    tfaKey: '',
    accessMethod: pair.method,
    loginType: '',
    success: true,
  }
}

/** `onRequest` of a route whose answers carry tokens or tickets: no browser or proxy may keep them. */
export async function noStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('cache-control', 'no-store')
}
