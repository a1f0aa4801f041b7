/**
 * Who owns each device, held in memory for the broker: every message delivered to a user
 * is checked against it, and delivery must not wait on the database. A change made in this
 * process (bind, unbind, remove) applies at once; the entries in use are re-read every
 * second, so a change made by another server process shows within about that.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { DeviceService } from '../services/devices.ts'

interface Entry {
  owner: number | null
  usedAt: number
}

/** Entries unused this long are forgotten (their device stopped reporting, its users left). */
const IDLE_MS = 60_000
/** Devices read per query when refreshing. */
const CHUNK = 500

export class DeviceOwners {
  private readonly entries = new Map<string, Entry>()
  private readonly loading = new Map<string, Promise<number | null>>()
  /**
   * Counts changes per device, so a read that started before a change cannot store what
   * it saw after it.
   */
  private readonly changes = new Map<string, number>()
  private readonly timer: NodeJS.Timeout
  private readonly stopListening: () => void
  private refreshing = false

  constructor(
    private readonly devices: DeviceService,
    private readonly log: FastifyBaseLogger,
    refreshEveryMs = 1000,
  ) {
    this.stopListening = devices.ownerChanged.on((devId) => this.changed(devId))
    this.timer = setInterval(() => void this.refresh(), refreshEveryMs)
    this.timer.unref()
  }

  /** The owner as known now, without waiting: a uid, null for nobody, undefined when not known yet. */
  cached(devId: string): number | null | undefined {
    const entry = this.entries.get(devId)
    if (!entry) return undefined
    entry.usedAt = Date.now()
    return entry.owner
  }

  /** The owner: from memory when known, else read from the database. */
  lookup(devId: string): Promise<number | null> {
    const entry = this.entries.get(devId)
    if (entry) {
      entry.usedAt = Date.now()
      return Promise.resolve(entry.owner)
    }
    let pending = this.loading.get(devId)
    if (!pending) {
      const seen = this.changes.get(devId) ?? 0
      pending = this.devices.ownersOf([devId]).then((owners) => {
        const owner = owners.get(devId) ?? null
        this.store(devId, owner, seen)
        return owner
      })
      const forget = () => this.loading.delete(devId)
      pending.then(forget, forget)
      this.loading.set(devId, pending)
    }
    return pending
  }

  close(): void {
    clearInterval(this.timer)
    this.stopListening()
  }

  private changed(devId: string): void {
    this.changes.set(devId, (this.changes.get(devId) ?? 0) + 1)
    const held = this.entries.delete(devId)
    this.loading.delete(devId)
    // Still in use: read it again now rather than on the next message.
    if (held) this.lookup(devId).catch((err: unknown) => this.log.warn({ err, devId }, 'mqtt: could not read a device owner'))
  }

  private store(devId: string, owner: number | null, seen: number): void {
    if ((this.changes.get(devId) ?? 0) !== seen) return
    this.entries.set(devId, { owner, usedAt: Date.now() })
  }

  private async refresh(): Promise<void> {
    if (this.refreshing) return
    this.refreshing = true
    try {
      const idleSince = Date.now() - IDLE_MS
      for (const [devId, entry] of this.entries) if (entry.usedAt < idleSince) this.entries.delete(devId)
      const ids = [...this.entries.keys()]
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK)
        const seen = chunk.map((id) => this.changes.get(id) ?? 0)
        const owners = await this.devices.ownersOf(chunk)
        chunk.forEach((devId, k) => {
          const entry = this.entries.get(devId)
          // Only entries still held: an idle one dropped meanwhile stays dropped.
          if (entry && (this.changes.get(devId) ?? 0) === seen[k]) entry.owner = owners.get(devId) ?? null
        })
      }
    } catch (err) {
      this.log.warn({ err }, 'mqtt: could not refresh device owners')
    } finally {
      this.refreshing = false
    }
  }
}
