/**
 * Slicer sign-on tickets: a logged-in client (or the sign-in page) asks for a ticket, and
 * Bambu Studio exchanges it once, within 5 minutes, for its own tokens.
 */
import type { ServiceContext } from '../context.ts'
import { randomDigits, randomToken, sha256 } from '../lib/secrets.ts'

export const TICKET_TTL_MS = 5 * 60 * 1000

export interface IssuedTicket {
  ticket: string
  pincode: string
}

export class TicketService {
  constructor(private readonly ctx: ServiceContext) {}

  async issue(uid: number, source: string): Promise<IssuedTicket> {
    const ticket = randomToken(24)
    const pincode = randomDigits(6)
    const now = this.ctx.now()
    await this.ctx.database.db
      .insertInto('tickets')
      .values({ hash: sha256(ticket), uid, pincode, source, created_at: now, expires_at: now + TICKET_TTL_MS, spent_at: null })
      .execute()
    return { ticket, pincode }
  }

  /** Spends a ticket; the uid it was issued to, or null when unknown, expired or spent. */
  async redeem(ticket: string): Promise<number | null> {
    const { db } = this.ctx.database
    const now = this.ctx.now()
    const hash = sha256(ticket)
    const row = await db
      .selectFrom('tickets as t')
      .innerJoin('users as u', 'u.uid', 't.uid')
      .select(['t.uid', 'u.disabled'])
      .where('t.hash', '=', hash)
      .where('t.spent_at', 'is', null)
      .where('t.expires_at', '>', now)
      .executeTakeFirst()
    if (!row || row.disabled) return null
    const spent = await db
      .updateTable('tickets')
      .set({ spent_at: now })
      .where('hash', '=', hash)
      .where('spent_at', 'is', null)
      .executeTakeFirst()
    return Number(spent.numUpdatedRows) === 1 ? row.uid : null
  }

  /** `{source, isValid}` of a ticket issued to `uid`; anyone else's (or none) is not valid. */
  async status(uid: number, ticket: string): Promise<{ source: string; isValid: boolean }> {
    const row = await this.ctx.database.db
      .selectFrom('tickets')
      .select(['source', 'spent_at', 'expires_at'])
      .where('hash', '=', sha256(ticket))
      .where('uid', '=', uid)
      .executeTakeFirst()
    if (!row) return { source: '', isValid: false }
    return { source: row.source, isValid: row.spent_at === null && row.expires_at > this.ctx.now() }
  }
}
