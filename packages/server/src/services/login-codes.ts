/**
 * Emailed (or texted) 6-digit login codes. A code lives 5 minutes; sending another does not
 * cancel earlier live ones; logging in with one spends them all; 5 wrong tries end them.
 */
import type { ServiceContext } from '../context.ts'
import { constantTimeEqual, randomDigits, sha256 } from '../lib/secrets.ts'
import type { Mailer, MessageKind } from './mailer.ts'

export const CODE_TTL_MS = 5 * 60 * 1000
export const CODE_MAX_FAILURES = 5

export type CodeCheck = 'ok' | 'expired' | 'wrong'

export class LoginCodeService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly mailer: Mailer,
  ) {}

  async send(uid: number, account: string, kind: MessageKind): Promise<void> {
    const code = randomDigits(6)
    const now = this.ctx.now()
    await this.ctx.database.db
      .insertInto('login_codes')
      .values({ uid, code_hash: sha256(code), created_at: now, expires_at: now + CODE_TTL_MS, failures: 0, spent_at: null })
      .execute()
    await this.mailer.deliverCode(account, kind, code)
  }

  /**
   * Checks a code against the user's live codes; a match spends them all. The try is
   * counted on every live code before the comparison, in the one statement that finds
   * them, so parallel tries cannot outrun the limit of CODE_MAX_FAILURES.
   */
  async check(uid: number, code: string): Promise<CodeCheck> {
    const { db } = this.ctx.database
    const now = this.ctx.now()
    const given = sha256(code.trim())
    // A code that was real but is no longer live is "expired", not "wrong": the client
    // should ask for a new one rather than let the user retype it; it costs the live codes no try.
    const known = await db
      .selectFrom('login_codes')
      .select(['spent_at', 'expires_at', 'failures'])
      .where('uid', '=', uid)
      .where('code_hash', '=', given)
      .execute()
    const isLive = (r: (typeof known)[number]) => r.spent_at === null && r.expires_at > now && r.failures < CODE_MAX_FAILURES
    if (known.length > 0 && !known.some(isLive)) return 'expired'
    const live = await db
      .updateTable('login_codes')
      .set((eb) => ({ failures: eb('failures', '+', 1) }))
      .where('uid', '=', uid)
      .where('spent_at', 'is', null)
      .where('expires_at', '>', now)
      .where('failures', '<', CODE_MAX_FAILURES)
      .returning('code_hash')
      .execute()
    if (live.length === 0) return 'expired'
    let matched = false
    for (const row of live) if (constantTimeEqual(row.code_hash, given)) matched = true
    if (!matched) return 'wrong'
    // Spend every live code; if a concurrent login spent them first, this one loses.
    const spent = await db
      .updateTable('login_codes')
      .set({ spent_at: now })
      .where('uid', '=', uid)
      .where('spent_at', 'is', null)
      .executeTakeFirst()
    return Number(spent.numUpdatedRows) > 0 ? 'ok' : 'expired'
  }
}
