/**
 * The state of a virtual printer and how a print moves it along, on a simulated clock:
 * IDLE → PREPARE → RUNNING → FINISH, or PAUSE and FAILED on the way. No I/O and no
 * timers: the printer feeds it simulated seconds and publishes what changed.
 *
 * Every write goes through `set`, which records the field as changed; that record is
 * what a P1-style partial report carries.
 */
import type { PrintReport } from '@bambu-cloud/protocol'
import { AMBIENT_TEMPERATURE, idlePrintReport, PRINT_ERRORS, SCRIPTED_HMS, type PrinterIdentity } from './print-report.ts'

/** What a `project_file` request asks for, once the file has been found and checked. */
export interface PrintJob {
  task_id: string
  subtask_id: string
  project_id: string
  profile_id: string
  subtask_name: string
  gcode_file: string
  print_type: 'cloud' | 'local'
  /** Simulated seconds of heating and levelling before the first layer. */
  prepareSeconds: number
  /** Simulated seconds from the first layer to the last. */
  printSeconds: number
  totalLayers: number
}

type ActivePhase = 'PREPARE' | 'RUNNING'

const TARGETS = { nozzle: 220, bed: 55 }
/** Degrees per simulated second, heating and cooling. */
const HEAT_RATE = { nozzle: 2.5, bed: 0.8 }
const COOL_RATE = { nozzle: 1, bed: 0.2 }

export class PrinterState {
  readonly report: PrintReport
  private readonly changed = new Set<string>()
  private job: PrintJob | null = null
  private phaseSeconds = 0
  private pausedIn: ActivePhase | null = null

  constructor(identity: PrinterIdentity) {
    this.report = idlePrintReport(identity)
  }

  get gcodeState(): string {
    return this.report.gcode_state ?? 'IDLE'
  }

  /** A print is under way (possibly paused): no new one may start. */
  get busy(): boolean {
    const state = this.gcodeState
    return state === 'PREPARE' || state === 'RUNNING' || state === 'PAUSE'
  }

  get hasChanges(): boolean {
    return this.changed.size > 0
  }

  /** The fields changed since the last report, cleared as they are taken. */
  takeChanges(): PrintReport {
    const out: PrintReport = {}
    for (const key of this.changed) out[key] = this.report[key]
    this.changed.clear()
    return out
  }

  /** After a full report: everything has been said. */
  forgetChanges(): void {
    this.changed.clear()
  }

  start(job: PrintJob, nowMs: number): void {
    this.job = job
    this.phaseSeconds = 0
    this.pausedIn = null
    this.set('gcode_state', 'PREPARE')
    this.set('task_id', job.task_id)
    this.set('subtask_id', job.subtask_id)
    this.set('project_id', job.project_id)
    this.set('profile_id', job.profile_id)
    this.set('subtask_name', job.subtask_name)
    this.set('gcode_file', job.gcode_file)
    this.set('print_type', job.print_type)
    this.set('gcode_start_time', String(Math.floor(nowMs / 1000)))
    this.set('mc_percent', 0)
    this.set('mc_remaining_time', Math.ceil(job.printSeconds / 60))
    this.set('layer_num', 0)
    this.set('total_layer_num', job.totalLayers)
    this.set('mc_print_stage', '2')
    this.set('print_error', 0)
    if ((this.report.hms as unknown[]).length > 0) this.set('hms', [])
    this.set('nozzle_target_temper', TARGETS.nozzle)
    this.set('bed_target_temper', TARGETS.bed)
  }

  /** A print that could not start: FAILED with why, nothing else of the last print touched. */
  refuse(job: Pick<PrintJob, 'task_id' | 'subtask_id' | 'project_id' | 'profile_id' | 'subtask_name' | 'gcode_file' | 'print_type'>, printError: number): void {
    this.job = null
    for (const key of ['task_id', 'subtask_id', 'project_id', 'profile_id', 'subtask_name', 'gcode_file', 'print_type'] as const) this.set(key, job[key])
    this.set('gcode_state', 'FAILED')
    this.set('print_error', printError)
  }

  pause(): boolean {
    const state = this.gcodeState
    if (state !== 'PREPARE' && state !== 'RUNNING') return false
    this.pausedIn = state
    this.set('gcode_state', 'PAUSE')
    return true
  }

  resume(): boolean {
    if (this.gcodeState !== 'PAUSE' || !this.pausedIn) return false
    this.set('gcode_state', this.pausedIn)
    this.pausedIn = null
    return true
  }

  /** Stopped by a user: FAILED with the cancel code, progress left where it was. */
  stop(): boolean {
    if (!this.busy) return false
    this.end('FAILED', PRINT_ERRORS.cancelled)
    return true
  }

  /** Failed on its own: FAILED, an error number and an HMS entry. */
  fail(): boolean {
    if (!this.busy) return false
    this.end('FAILED', PRINT_ERRORS.scripted)
    this.set('hms', [{ ...SCRIPTED_HMS }])
    return true
  }

  /** Counts `seconds` (simulated) toward the current phase without ending it. */
  accrue(seconds: number): void {
    const state = this.gcodeState
    if (this.job && (state === 'PREPARE' || state === 'RUNNING')) this.phaseSeconds += seconds
  }

  /**
   * Moves the clock on by `seconds` (simulated). A phase ends at most once per call, so
   * each of PREPARE, RUNNING and FINISH shows in at least one report however large the
   * step. Returns the state entered, if any.
   */
  advance(seconds: number): string | null {
    const state = this.gcodeState
    this.settleTemperatures(seconds)
    if (!this.job || (state !== 'PREPARE' && state !== 'RUNNING')) return null
    this.phaseSeconds += seconds
    if (state === 'PREPARE') {
      if (this.phaseSeconds < this.job.prepareSeconds) return null
      this.phaseSeconds = 0
      this.set('gcode_state', 'RUNNING')
      this.set('mc_print_stage', '2')
      this.set('layer_num', 1)
      return 'RUNNING'
    }
    const { printSeconds, totalLayers } = this.job
    if (this.phaseSeconds >= printSeconds) {
      this.set('mc_percent', 100)
      this.set('mc_remaining_time', 0)
      this.set('layer_num', totalLayers)
      this.end('FINISH', 0)
      return 'FINISH'
    }
    const done = this.phaseSeconds / printSeconds
    this.set('mc_percent', Math.floor(done * 100))
    this.set('mc_remaining_time', Math.ceil((printSeconds - this.phaseSeconds) / 60))
    this.set('layer_num', Math.min(totalLayers, Math.floor(done * totalLayers) + 1))
    return null
  }

  private end(state: 'FINISH' | 'FAILED', printError: number): void {
    this.job = null
    this.pausedIn = null
    this.set('gcode_state', state)
    this.set('print_error', printError)
    this.set('mc_print_stage', '1')
    this.set('nozzle_target_temper', 0)
    this.set('bed_target_temper', 0)
  }

  /** Nozzle and bed drift toward their targets (ambient when the target is 0). */
  private settleTemperatures(seconds: number): void {
    this.approach('nozzle_temper', this.report.nozzle_target_temper as number, seconds, HEAT_RATE.nozzle, COOL_RATE.nozzle)
    this.approach('bed_temper', this.report.bed_target_temper as number, seconds, HEAT_RATE.bed, COOL_RATE.bed)
  }

  private approach(field: string, target: number, seconds: number, heatRate: number, coolRate: number): void {
    const goal = target > 0 ? target : AMBIENT_TEMPERATURE
    const current = this.report[field] as number
    if (current === goal) return
    const step = (current < goal ? heatRate : coolRate) * seconds
    const next = current < goal ? Math.min(goal, current + step) : Math.max(goal, current - step)
    this.set(field, Math.round(next * 10) / 10)
  }

  private set(field: string, value: unknown): void {
    if (this.report[field] === value) return
    this.report[field] = value
    this.changed.add(field)
  }
}
