/**
 * Reports on their way from the broker to the device-state service. Subscribers already
 * have a report when it lands here; here it is parsed, queued per printer, combined with
 * the one before when that changes nothing (`combineReports`: a state change such as
 * RUNNING -> FINISH is kept as a step of its own) and written in batches a few times a
 * second, so a thousand printers cost a few transactions per second, not a thousand.
 * A printer acknowledged (PUBACK) before its report is written, so none may be dropped
 * here for being too many: past a bound, the oldest steps are folded together instead.
 */
import type { FastifyBaseLogger } from 'fastify'
import { isObject, type JsonObject } from '../lib/json.ts'
import { combineReports, foldReports, type DeviceStateService } from '../services/device-state.ts'

/** Printers per transaction: keeps each one short, so other writers and delivery are not held up. */
const BATCH_DEVICES = 50
/**
 * Steps kept per printer while the database does not keep up (or is down); past it the
 * oldest that can be are folded into one (`foldReports`), so memory does not grow
 * without bound.
 */
const MAX_STEPS = 100

export interface IngestCounts {
  /** Reports queued for the database. */
  accepted: number
  /** Payloads that were not a JSON object: dropped. */
  ignored: number
  /**
   * Reports lost: the database failed them, the printer does not exist, or too many that
   * cannot be folded (answers failing print jobs) piled up.
   */
  dropped: number
}

export class ReportIngest {
  private pending = new Map<string, JsonObject[]>()
  private running: Promise<void> | undefined
  private readonly timer: NodeJS.Timeout
  readonly counts: IngestCounts = { accepted: 0, ignored: 0, dropped: 0 }

  constructor(
    private readonly deviceState: DeviceStateService,
    private readonly log: FastifyBaseLogger,
    flushEveryMs = 200,
  ) {
    this.timer = setInterval(() => void this.flush(), flushEveryMs)
    this.timer.unref()
  }

  /** Queues one report as published; false (and counted) when it is not a JSON object. */
  add(devId: string, payload: Buffer): boolean {
    let report: unknown
    try {
      report = JSON.parse(payload.toString('utf8'))
    } catch {
      report = undefined
    }
    if (!isObject(report)) {
      this.counts.ignored++
      return false
    }
    this.counts.accepted++
    const steps = this.pending.get(devId)
    if (!steps) {
      this.pending.set(devId, [report])
      return true
    }
    const combined = combineReports(steps[steps.length - 1]!, report)
    if (combined) steps[steps.length - 1] = combined
    else steps.push(report)
    if (steps.length > MAX_STEPS) this.fold(steps)
    return true
  }

  /** Folds the oldest two steps that can be; drops the oldest only when none can. */
  private fold(steps: JsonObject[]): void {
    for (let i = 0; i + 1 < steps.length; i++) {
      const folded = foldReports(steps[i]!, steps[i + 1]!)
      if (folded) {
        steps.splice(i, 2, folded)
        return
      }
    }
    steps.shift()
    this.counts.dropped++
  }

  /** Writes everything queued so far; resolves once it is in the database (or given up on). */
  async flush(): Promise<void> {
    // One write at a time; a flush asked for during one waits, then writes what came since.
    while (this.running) await this.running
    if (this.pending.size === 0) return
    const batch = this.pending
    this.pending = new Map()
    this.running = this.write(batch).finally(() => (this.running = undefined))
    await this.running
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.timer)
    await this.flush()
  }

  private async write(all: Map<string, JsonObject[]>): Promise<void> {
    const ids = [...all.keys()]
    for (let i = 0; i < ids.length; i += BATCH_DEVICES) {
      const batch = new Map(ids.slice(i, i + BATCH_DEVICES).map((id) => [id, all.get(id)!]))
      try {
        this.unknown(await this.deviceState.applyReports(batch), batch)
      } catch (err) {
        // One bad printer must not cost the others their reports: retry each on its own.
        this.log.warn({ err }, 'mqtt: a report batch failed; writing printer by printer')
        for (const [devId, steps] of batch) {
          try {
            this.unknown(await this.deviceState.applyReports(new Map([[devId, steps]])), batch)
          } catch (err) {
            this.counts.dropped += steps.length
            this.log.error({ err, devId }, 'mqtt: could not record reports')
          }
        }
      }
      // Let delivery run between transactions (SQLite's are synchronous underneath).
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  private unknown(devIds: string[], batch: Map<string, JsonObject[]>): void {
    for (const devId of devIds) {
      this.counts.dropped += batch.get(devId)?.length ?? 0
      this.log.debug({ devId }, 'mqtt: reports for a device that does not exist')
    }
  }
}
