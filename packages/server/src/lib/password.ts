/**
 * Password hashing: Argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
 */
import argon2 from 'argon2'

const OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, OPTIONS)
}

let dummyHash: Promise<string> | undefined

/**
 * Verifies a password. With no stored hash (unknown account) it still spends the same
 * work on a dummy hash, so timing does not tell which accounts exist.
 */
export async function verifyPassword(hash: string | null, password: string): Promise<boolean> {
  if (hash === null) {
    dummyHash ??= argon2.hash('not-a-real-password', OPTIONS)
    await argon2.verify(await dummyHash, password).catch(() => false)
    return false
  }
  try {
    return await argon2.verify(hash, password)
  } catch {
    return false
  }
}
