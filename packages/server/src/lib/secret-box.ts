/**
 * Secrets at rest: values the server must read back in plain (TOTP secrets, printers'
 * access codes, signing keys) are sealed with AES-256-GCM under a key kept outside the
 * database, so a copy of the database alone gives none of them away. A sealed value
 * carries a versioned prefix; a value without it is a plain one from before, read as is
 * until the start-up step seals it.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/** What every sealed value starts with (plain values never do). */
export const SEALED_PREFIX = 'sealed:v1:'
const PREFIX = SEALED_PREFIX
const IV_BYTES = 12
const TAG_BYTES = 16

/** The key does not open a sealed value: another key sealed it, or the value was altered. */
export class SecretKeyMismatchError extends Error {
  override readonly name = 'SecretKeyMismatchError'
}

/** A 32-byte key written as base64 (or base64url) or hex; null when it is not one. */
export function parseSecretsKey(text: string): Buffer | null {
  const raw = text.trim()
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(raw) ? Buffer.from(raw, 'base64') : null
  return key?.length === 32 ? key : null
}

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('a secrets key is 32 bytes')
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(PREFIX)
  }

  seal(plain: string): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.key, iv)
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')
  }

  /** The plain value of a sealed one; a plain (legacy) value comes back unchanged. */
  open(stored: string): string {
    if (!SecretBox.isSealed(stored)) return stored
    const bytes = Buffer.from(stored.slice(PREFIX.length), 'base64url')
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, IV_BYTES))
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
    } catch {
      throw new SecretKeyMismatchError('the secrets key does not open the secrets sealed in this database (SECRETS_KEY or DATA_DIR/secrets.key is not the key they were sealed with)')
    }
  }
}
