/** HS256 JSON Web Tokens: the older token form some clients still decode for `username`. */
import { createHmac } from 'node:crypto'
import { constantTimeEqual } from './secrets.ts'

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')

export function signJwt(payload: Record<string, unknown>, secret: string): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url')
  const signature = createHmac('sha256', secret).update(`${HEADER}.${body}`).digest('base64url')
  return `${HEADER}.${body}.${signature}`
}

/** The payload of a token signed with `secret`, or null when the signature does not hold. */
export function verifyJwt(token: string, secret: string): Record<string, unknown> | null {
  const parts = token.split('.')
  if (parts.length !== 3) return null
  const [header, body, signature] = parts as [string, string, string]
  const expected = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url')
  if (!constantTimeEqual(expected, signature)) return null
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>
  } catch {
    return null
  }
}
