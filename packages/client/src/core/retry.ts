/**
 * When to try a request again and how long to wait first: only idempotent methods, only
 * on answers that say "later" (429, 502, 503, 504) or on no answer at all; the wait is
 * the server's `Retry-After` when it gives a sane one, else exponential backoff with jitter.
 */

/** Methods that may run twice without doing something twice. POST and PATCH never retry. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE'])

export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504])

/** The longest backoff, and the longest `Retry-After` honoured (longer ones fall back to backoff). */
const MAX_BACKOFF_MS = 8_000
const MAX_RETRY_AFTER_MS = 60_000

/**
 * Milliseconds to wait before retry number `attempt + 1`: `Retry-After` (seconds or an
 * HTTP date) when present and at most a minute away, else `baseMs * 2^attempt` (capped)
 * less up to a quarter at random, so many clients do not retry in step.
 */
export function retryDelay(attempt: number, retryAfter: string | null, baseMs: number, now = Date.now()): number {
  const asked = parseRetryAfter(retryAfter, now)
  if (asked !== undefined && asked <= MAX_RETRY_AFTER_MS) return asked
  return Math.min(baseMs * 2 ** attempt, MAX_BACKOFF_MS) * (1 - Math.random() * 0.25)
}

/** `Retry-After` in milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000
  // An HTTP date names a day and month ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse alone would take "-1".
  const at = /[a-z]/i.test(text) ? Date.parse(text) : Number.NaN
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
