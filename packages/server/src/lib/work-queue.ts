/**
 * Background work in this process, a few jobs at a time (fastq), so a burst of uploads cannot
 * hold more than `concurrency` files' metadata in memory at once. Jobs handle their own
 * errors; one that throws anyway, at once or later, is reported to `onError` and the queue goes on.
 */
import fastq from 'fastq'

type Job = () => Promise<void>

export interface WorkQueue {
  /** Queues a job; after `close` jobs are dropped (they are picked up again on the next start). */
  push(job: Job): void
  /** Resolves once nothing is queued or running. */
  idle(): Promise<void>
  /** Drops what has not started and waits for what has. */
  close(): Promise<void>
}

export function createWorkQueue(concurrency: number, onError: (err: unknown) => void): WorkQueue {
  let closed = false
  // An async worker turns a job's synchronous throw into a rejection fastq counts as done.
  const queue = fastq.promise(async (job: Job) => job(), concurrency)
  queue.error((err) => {
    if (err) onError(err)
  })
  return {
    push(job) {
      if (!closed) void queue.push(job)
    },
    idle: () => queue.drained(),
    async close() {
      closed = true
      queue.kill()
      await queue.drained()
    },
  }
}
