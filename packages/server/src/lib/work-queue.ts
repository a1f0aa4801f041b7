/**
 * Background work in this process, a few jobs at a time, so a burst of uploads cannot
 * hold more than `concurrency` files' metadata in memory at once. Jobs handle their own
 * errors; one that throws anyway is reported to `onError` and the queue goes on.
 */
export class WorkQueue {
  private readonly waiting: Array<() => Promise<void>> = []
  private running = 0
  private closed = false
  private idleWaiters: Array<() => void> = []

  constructor(
    private readonly concurrency: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Queues a job; after `close` jobs are dropped (they are picked up again on the next start). */
  push(job: () => Promise<void>): void {
    if (this.closed) return
    this.waiting.push(job)
    this.next()
  }

  private next(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!
      this.running++
      job()
        .catch(this.onError)
        .finally(() => {
          this.running--
          this.next()
        })
    }
    if (this.running === 0 && this.waiting.length === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve()
    }
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** Drops what has not started and waits for what has. */
  async close(): Promise<void> {
    this.closed = true
    this.waiting.length = 0
    this.next()
    await this.idle()
  }
}
