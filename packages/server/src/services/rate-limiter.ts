/**
 * Sliding-window counters kept in the database, so every server process on one database
 * shares them. Used for failed logins (per account and per client address) and code sends.
 */
import type { ServiceContext } from '../context.ts'
import { ApiError } from '../errors.ts'

export interface Bucket {
  key: string
  limit: number
}

export class RateLimiter {
  constructor(private readonly ctx: ServiceContext) {}

  private get window(): number {
    return this.ctx.config.rateLimits.windowMs
  }

  /** Throws 429 (with Retry-After) when any bucket is at its limit. */
  async check(buckets: Bucket[]): Promise<void> {
    const { db } = this.ctx.database
    const now = this.ctx.now()
    let retryAfterMs = 0
    for (const bucket of buckets) {
      const row = await db
        .selectFrom('rate_events')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min<number>('at').as('oldest')])
        .where('bucket', '=', bucket.key)
        .where('at', '>', now - this.window)
        .executeTakeFirstOrThrow()
      if (Number(row.n) >= bucket.limit) {
        retryAfterMs = Math.max(retryAfterMs, Number(row.oldest) + this.window - now)
      }
    }
    if (retryAfterMs > 0) {
      const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
      throw new ApiError('tooManyRequests', `Too many attempts; try again in ${seconds} seconds`, {
        'retry-after': String(seconds),
      })
    }
  }

  /** Counts one event against each bucket, and forgets those buckets' expired events. */
  async record(keys: string[]): Promise<void> {
    const { db } = this.ctx.database
    const now = this.ctx.now()
    if (keys.length === 0) return
    await db.insertInto('rate_events').values(keys.map((bucket) => ({ bucket, at: now }))).execute()
    await db.deleteFrom('rate_events').where('bucket', 'in', keys).where('at', '<=', now - this.window).execute()
  }
}
