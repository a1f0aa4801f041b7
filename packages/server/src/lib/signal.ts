/**
 * A typed in-process event. Services announce a change (a login revoked, a device changing
 * hands) and whoever holds live state about it in this process (the MQTT broker) reacts.
 * A listener that throws is its own failure: the emitter carries on, the other listeners
 * still run, and the error goes once to `onListenerError`.
 */
export class Signal<T> {
  private readonly listeners = new Set<(value: T) => void>()

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  /** Calls `listener` on every `emit` until the returned function is called. */
  on(listener: (value: T) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  emit(value: T): void {
    for (const listener of this.listeners) {
      try {
        listener(value)
      } catch (err) {
        this.onListenerError(err)
      }
    }
  }
}
