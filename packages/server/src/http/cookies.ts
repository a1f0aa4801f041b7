/** The cookies the web host sets (`token`, `refreshToken`, its CSRF token), and reading cookies back. */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { TokenPair } from '../services/tokens.ts'

function cookie(name: string, value: string, maxAge: number, secure: boolean): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Lax']
  if (secure) parts.push('Secure')
  return parts.join('; ')
}

/** The CSRF cookie lasts the browser session and is readable by the page's own scripts (double submit). */
export function setCsrfCookie(reply: FastifyReply, name: string, value: string, publicUrl: string): void {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'SameSite=Lax']
  if (publicUrl.startsWith('https:')) parts.push('Secure')
  reply.header('set-cookie', parts.join('; '))
}

export function setTokenCookies(reply: FastifyReply, pair: TokenPair, publicUrl: string): void {
  const secure = publicUrl.startsWith('https:')
  reply.header('set-cookie', [
    cookie('token', pair.accessToken, pair.expiresIn, secure),
    cookie('refreshToken', pair.refreshToken, pair.refreshExpiresIn, secure),
  ])
}

export function readCookies(request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {}
  const header = request.headers.cookie
  if (typeof header !== 'string') return out
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const name = part.slice(0, eq).trim()
    try {
      out[name] = decodeURIComponent(part.slice(eq + 1).trim())
    } catch {
      out[name] = part.slice(eq + 1).trim()
    }
  }
  return out
}
