/**
 * The second step of a TFA login: a password login hands out an opaque `tfaKey` valid
 * 5 minutes; the key plus a current TOTP code yields tokens. Wrong codes do not spend the
 * key; 5 of them do. Each TOTP code is accepted once.
 */
import type { ServiceContext } from '../context.ts'
import { randomToken, sha256 } from '../lib/secrets.ts'
import { matchTotp } from '../lib/totp.ts'

export const TFA_KEY_TTL_MS = 5 * 60 * 1000
export const TFA_MAX_FAILURES = 5

export type TfaCheck = { ok: true; uid: number } | { ok: false; uid: number | null }

export class TfaService {
  constructor(private readonly ctx: ServiceContext) {}

  async startChallenge(uid: number): Promise<string> {
    const key = randomToken(24)
    const now = this.ctx.now()
    await this.ctx.database.db
      .insertInto('tfa_challenges')
      .values({ key_hash: sha256(key), uid, created_at: now, expires_at: now + TFA_KEY_TTL_MS, failures: 0, spent_at: null })
      .execute()
    return key
  }

  /** The uid the key was issued to, when it is still usable (for rate limiting by account). */
  async ownerOf(tfaKey: string): Promise<number | null> {
    const row = await this.ctx.database.db
      .selectFrom('tfa_challenges')
      .select('uid')
      .where('key_hash', '=', sha256(tfaKey))
      .executeTakeFirst()
    return row?.uid ?? null
  }

  /**
   * Checks a TOTP code for a challenge. The try is counted before the code is compared, in
   * the statement that finds the live challenge, so parallel tries cannot outrun
   * TFA_MAX_FAILURES.
   */
  async complete(tfaKey: string, tfaCode: string): Promise<TfaCheck> {
    const { db } = this.ctx.database
    const now = this.ctx.now()
    const keyHash = sha256(tfaKey)
    const challenge = await db
      .updateTable('tfa_challenges')
      .set((eb) => ({ failures: eb('failures', '+', 1) }))
      .where('key_hash', '=', keyHash)
      .where('spent_at', 'is', null)
      .where('expires_at', '>', now)
      .where('failures', '<', TFA_MAX_FAILURES)
      .returning('uid')
      .executeTakeFirst()
    if (!challenge) return { ok: false, uid: null }
    const user = await db
      .selectFrom('users')
      .select(['tfa_secret', 'tfa_last_step', 'disabled'])
      .where('uid', '=', challenge.uid)
      .executeTakeFirstOrThrow()
    if (user.disabled || !user.tfa_secret) return { ok: false, uid: challenge.uid }
    const step = matchTotp(this.ctx.secrets.open(user.tfa_secret), tfaCode.trim(), now)
    // The step must be newer than the last accepted one; the conditional update makes the
    // check and the claim one atomic act, so a code replayed concurrently loses.
    const claimed =
      step !== null && step > user.tfa_last_step
        ? await db
            .updateTable('users')
            .set({ tfa_last_step: step })
            .where('uid', '=', challenge.uid)
            .where('tfa_last_step', '<', step)
            .executeTakeFirst()
        : undefined
    if (!claimed || Number(claimed.numUpdatedRows) !== 1) return { ok: false, uid: challenge.uid }
    const spent = await db
      .updateTable('tfa_challenges')
      .set({ spent_at: now })
      .where('key_hash', '=', keyHash)
      .where('spent_at', 'is', null)
      .executeTakeFirst()
    return Number(spent.numUpdatedRows) === 1 ? { ok: true, uid: challenge.uid } : { ok: false, uid: challenge.uid }
  }
}
