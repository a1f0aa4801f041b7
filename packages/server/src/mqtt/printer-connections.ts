/**
 * Which printers are connected to this broker, and which listen on their request topic
 * (only those receive a request). A printer counts as connected while it has a session: a
 * quick reconnect overlaps the old session's end and changes nothing. Each change is told
 * to the owner's clients as the cloud tells it, an `event` on the printer's report topic.
 */
import type { Client } from 'aedes'
import type { FastifyBaseLogger } from 'fastify'
import { Signal } from '../lib/signal.ts'

/** What clients read on `device/<dev_id>/report` when a printer comes or goes (they read `event.event`). */
export function connectionEvent(connected: boolean): Buffer {
  return Buffer.from(JSON.stringify({ event: { event: connected ? 'client.connected' : 'client.disconnected' } }))
}

export class PrinterConnections {
  /** A printer's first session began (true) or its last one ended (false). */
  readonly changed = new Signal<{ devId: string; connected: boolean }>((err) => this.log.error({ err }, 'a listener of printer connections failed'))
  /** A printer subscribed to its request topic: requests reach it from now on. */
  readonly listening = new Signal<string>((err) => this.log.error({ err }, 'a listener of printers listening failed'))

  private readonly sessions = new Map<Client, { devId: string; listening: boolean }>()
  private readonly counts = new Map<string, number>()

  constructor(private readonly log: FastifyBaseLogger) {}

  add(client: Client, devId: string): void {
    if (this.sessions.has(client)) return
    this.sessions.set(client, { devId, listening: false })
    const count = (this.counts.get(devId) ?? 0) + 1
    this.counts.set(devId, count)
    if (count === 1) this.changed.emit({ devId, connected: true })
  }

  /** Idempotent: a client may be reported gone twice. */
  remove(client: Client): void {
    const session = this.sessions.get(client)
    if (!session) return
    this.sessions.delete(client)
    const count = (this.counts.get(session.devId) ?? 1) - 1
    if (count > 0) return void this.counts.set(session.devId, count)
    this.counts.delete(session.devId)
    this.changed.emit({ devId: session.devId, connected: false })
  }

  /** The client subscribed to its printer's request topic. */
  subscribed(client: Client): void {
    const session = this.sessions.get(client)
    if (!session || session.listening) return
    session.listening = true
    this.listening.emit(session.devId)
  }

  /** True when a session of the printer reads its request topic. */
  isListening(devId: string): boolean {
    if (!this.counts.has(devId)) return false
    for (const session of this.sessions.values()) if (session.devId === devId && session.listening) return true
    return false
  }
}
