/** Random secrets, SHA-256 fingerprints and constant-time comparison. */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto'

/** A URL-safe random token of `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/** `length` random decimal digits (codes, pincodes, access codes). */
export function randomDigits(length: number): string {
  let s = ''
  for (let i = 0; i < length; i++) s += String(randomInt(10))
  return s
}

/** The SHA-256 hex digest under which a token, code or ticket is stored. */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex')
}

/** Compares two strings in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest()
  const hb = createHash('sha256').update(b, 'utf8').digest()
  return timingSafeEqual(ha, hb) && a.length === b.length
}
