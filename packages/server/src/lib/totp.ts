/**
 * TOTP (RFC 6238 over RFC 4226 HOTP): SHA-1, 6 digits, 30-second steps, the form every
 * authenticator app speaks.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { base32Decode, base32Encode } from './base32.ts'
import { constantTimeEqual } from './secrets.ts'

export const TOTP_STEP_SECONDS = 30
export const TOTP_DIGITS = 6

/** A new 160-bit secret, base32 as authenticator apps take it. */
export function generateTotpSecret(): string {
  return base32Encode(randomBytes(20))
}

/** The time step a moment falls in. */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_STEP_SECONDS)
}

/** The code of one time step. */
export function hotp(secretBase32: string, counter: number): string {
  const key = base32Decode(secretBase32)
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac('sha1', key).update(msg).digest()
  const offset = mac[mac.length - 1]! & 0x0f
  const binary = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** TOTP_DIGITS
  return String(binary).padStart(TOTP_DIGITS, '0')
}

/** The current code, as an authenticator app would show it. */
export function totpCode(secretBase32: string, nowMs = Date.now()): string {
  return hotp(secretBase32, totpStep(nowMs))
}

/**
 * The step whose code matches within +-`window` steps of now, or null. Callers refuse a
 * step at or below the last one they accepted, so each code works once.
 */
export function matchTotp(secretBase32: string, code: string, nowMs = Date.now(), window = 1): number | null {
  if (!/^\d{6}$/.test(code)) return null
  const now = totpStep(nowMs)
  let found: number | null = null
  for (let step = now - window; step <= now + window; step++) {
    // Check every candidate so the time taken does not depend on which one matched.
    if (constantTimeEqual(hotp(secretBase32, step), code) && found === null) found = step
  }
  return found
}
