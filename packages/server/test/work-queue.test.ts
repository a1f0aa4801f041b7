// The background work queue: a job that fails, at once or later, is reported and the queue goes on.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createWorkQueue } from '../src/lib/work-queue.ts'

test('a job that throws synchronously and one that rejects are reported, and the jobs after them still run', async () => {
  const reported: unknown[] = []
  const queue = createWorkQueue(1, (err) => reported.push(err))
  const ran: string[] = []
  queue.push(() => {
    throw new Error('thrown at once')
  })
  queue.push(async () => {
    throw new Error('rejected')
  })
  queue.push(async () => {
    ran.push('after')
  })
  await queue.idle()
  assert.deepEqual(ran, ['after'])
  assert.deepEqual(
    reported.map((err) => (err as Error).message),
    ['thrown at once', 'rejected'],
  )
  queue.push(async () => {
    ran.push('later')
  })
  await queue.idle()
  assert.deepEqual(ran, ['after', 'later'])
})

test('close drops the jobs not started, waits for the one running, and ignores jobs pushed afterwards', async () => {
  const queue = createWorkQueue(1, () => {})
  const ran: string[] = []
  let finishFirst!: () => void
  queue.push(() => new Promise<void>((resolve) => (finishFirst = () => (ran.push('first'), resolve()))))
  queue.push(async () => {
    ran.push('queued')
  })
  const closed = queue.close()
  queue.push(async () => {
    ran.push('after close')
  })
  finishFirst()
  await closed
  await queue.idle()
  assert.deepEqual(ran, ['first'])
})
