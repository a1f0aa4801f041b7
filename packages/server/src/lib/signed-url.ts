/**
 * Signed URLs, like an object store's presigned ones: the query carries an HMAC-SHA256 of
 * the method, the path and the expiry, so the URL itself is the credential. No expiry
 * (`expires` absent) means the link never expires; it stops working when its file goes.
 */
import { createHmac } from 'node:crypto'
import { constantTimeEqual } from './secrets.ts'

export type Verdict = 'ok' | 'mismatch' | 'expired'

function mac(secret: string, method: string, path: string, expires: number): string {
  return createHmac('sha256', secret).update(`${method}\n${path}\n${expires}`).digest('base64url')
}

/** The query string (no `?`) that signs `method path` until `expiresAtMs` (null: forever). */
export function signPath(secret: string, method: string, path: string, expiresAtMs: number | null): string {
  if (expiresAtMs === null) return `sig=${mac(secret, method, path, 0)}`
  const expires = Math.ceil(expiresAtMs / 1000)
  return `expires=${expires}&sig=${mac(secret, method, path, expires)}`
}

/** Checks a request's `expires` and `sig` against its method and path. */
export function verifyPath(
  secret: string,
  method: string,
  path: string,
  query: { expires?: unknown; sig?: unknown },
  nowMs: number,
): Verdict {
  const { sig } = query
  const rawExpires = query.expires ?? '0'
  if (typeof sig !== 'string' || typeof rawExpires !== 'string' || !/^\d{1,12}$/.test(rawExpires)) return 'mismatch'
  const expires = Number(rawExpires)
  if (!constantTimeEqual(sig, mac(secret, method, path, expires))) return 'mismatch'
  // Checked after the signature, so an altered expiry reads as tampering, not as expired.
  if (expires !== 0 && expires * 1000 <= nowMs) return 'expired'
  return 'ok'
}
