import { test } from 'node:test'
import assert from 'node:assert/strict'
import { IDEMPOTENT_METHODS, RETRY_STATUSES, parseRetryAfter, retryDelay } from '../../src/core/retry.ts'

const NOW = Date.UTC(2025, 0, 2, 3, 4, 5)

test('parseRetryAfter reads seconds and HTTP dates, and ignores what it cannot read', () => {
  assert.equal(parseRetryAfter(null, NOW), undefined)
  assert.equal(parseRetryAfter('0', NOW), 0)
  assert.equal(parseRetryAfter(' 3 ', NOW), 3000)
  assert.equal(parseRetryAfter('1.5', NOW), 1500)
  assert.equal(parseRetryAfter(new Date(NOW + 7000).toUTCString(), NOW), 7000)
  assert.equal(parseRetryAfter(new Date(NOW - 7000).toUTCString(), NOW), 0, 'a date in the past means now')
  assert.equal(parseRetryAfter('soon', NOW), undefined)
  assert.equal(parseRetryAfter('-1', NOW), undefined)
})

test('retryDelay honours Retry-After up to a minute, else backs off exponentially with jitter, capped', () => {
  assert.equal(retryDelay(0, '2', 500, NOW), 2000)
  assert.equal(retryDelay(3, '0', 500, NOW), 0)
  for (let i = 0; i < 200; i++) {
    for (const [attempt, full] of [[0, 500], [1, 1000], [2, 2000], [3, 4000], [4, 8000], [9, 8000]] as const) {
      const header = i % 2 ? null : '3600'
      const d = retryDelay(attempt, header, 500, NOW)
      assert.ok(d > full * 0.75 - 1e-9 && d <= full, `attempt ${attempt}: ${d}`)
    }
  }
  const spread = new Set(Array.from({ length: 50 }, () => retryDelay(1, null, 500, NOW)))
  assert.ok(spread.size > 1, 'jittered')
})

test('only idempotent methods and the "later" statuses retry', () => {
  assert.deepEqual([...IDEMPOTENT_METHODS].sort(), ['DELETE', 'GET', 'HEAD', 'PUT'])
  assert.deepEqual([...RETRY_STATUSES].sort(), [429, 502, 503, 504])
})
