/**
 * The one guard in front of every check that guesses a secret (passwords, login and TFA
 * codes, TFA keys, tickets, MQTT tokens and access codes) and of code sends. Attempts are
 * counted in sliding windows kept in the database, per bucket (an account, an address, an
 * MQTT user name), so every server process on one database shares them.
 *
 * An attempt takes its slot before the secret is checked, in one locked transaction that
 * counts and records: parallel attempts can never be evaluated more often than the limit.
 * A correct secret gives its slot back (a successful login is no failure); a wrong one
 * leaves it counted until it leaves the window.
 */
import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import type { ServiceContext } from '../context.ts'
import { writeTransaction } from '../db/write-transaction.ts'
import { ApiError } from '../errors.ts'

export interface Bucket {
  key: string
  limit: number
}

/** An attempt that holds a slot in each of its buckets. */
export interface ClaimedAttempt {
  /** Frees the attempt's slots, as if it had never been made (after a correct secret). */
  giveBack(): Promise<void>
}

/**
 * Names the guard's advisory locks on PostgreSQL (apart from the migration lock). They are
 * shared by every schema of a database: at worst, claims in two schemas wait on each other a moment.
 */
const LOCK_NAMESPACE = 0x67756172

/** A bucket's advisory lock id: stable across processes, so all of them take the same lock. */
function lockId(key: string): number {
  return createHash('sha256').update(key).digest().readInt32BE(0)
}

export class LoginGuard {
  constructor(private readonly ctx: ServiceContext) {}

  /**
   * Takes a slot in every bucket at once, or none: throws 429 (with Retry-After, the
   * seconds until a slot frees) when any bucket is full.
   */
  async claim(buckets: Bucket[]): Promise<ClaimedAttempt> {
    const now = this.ctx.now()
    const windowMs = this.ctx.config.rateLimits.windowMs
    const keys = buckets.map((b) => b.key)
    // Locks in one order (by id) in every process, so two claims never wait on each other in a cycle.
    const lockIds = [...new Set(keys.map(lockId))].sort((a, b) => a - b)
    const claimed = await writeTransaction(
      this.ctx.database,
      async (trx) => {
        for (const id of lockIds) await sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${id})`.execute(trx)
      },
      async (trx): Promise<{ ids: number[] } | { retryAfterMs: number }> => {
        await trx.deleteFrom('rate_events').where('bucket', 'in', keys).where('at', '<=', now - windowMs).execute()
        let retryAfterMs = 0
        for (const bucket of buckets) {
          const row = await trx
            .selectFrom('rate_events')
            .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min<number>('at').as('oldest')])
            .where('bucket', '=', bucket.key)
            .executeTakeFirstOrThrow()
          // A full bucket holds `limit` events (more only if the limit was lowered): the oldest one frees the next slot.
          if (Number(row.n) >= bucket.limit) retryAfterMs = Math.max(retryAfterMs, Number(row.oldest) + windowMs - now)
        }
        if (retryAfterMs > 0) return { retryAfterMs }
        const rows = await trx.insertInto('rate_events').values(keys.map((bucket) => ({ bucket, at: now }))).returning('id').execute()
        return { ids: rows.map((r) => r.id) }
      },
    )
    if ('retryAfterMs' in claimed) {
      const seconds = Math.max(1, Math.ceil(claimed.retryAfterMs / 1000))
      throw new ApiError('tooManyRequests', `Too many attempts; try again in ${seconds} seconds`, {
        'retry-after': String(seconds),
      })
    }
    return {
      giveBack: async () => {
        await this.ctx.database.db.deleteFrom('rate_events').where('id', 'in', claimed.ids).execute()
      },
    }
  }
}
