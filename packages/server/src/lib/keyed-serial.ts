/**
 * Work queued per key: one job at a time for a key, in the order queued, whether the one
 * before succeeded or not; different keys run side by side. Keys with nothing queued hold
 * no memory.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>()

  /** Runs `work` after everything queued for `key` before it; resolves or rejects as `work` does. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    const next = previous.then(work, work)
    const settled = next.catch(() => {})
    this.tails.set(key, settled)
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key)
    })
    return next
  }

  /** Resolves once every job queued so far has finished. */
  async settled(): Promise<void> {
    await Promise.all(this.tails.values())
  }
}
