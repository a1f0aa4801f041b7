/**
 * Device state: each device's latest printer report, merged, and everything derived from
 * it. This is the only code that turns a report into `print_status`, task progress and
 * messages:
 *
 *   gcode_state            print_status   task status
 *   none yet, IDLE         IDLE           (untouched)
 *   PREPARE/SLICING/RUNNING RUNNING       4
 *   PAUSE                  PAUSE          4
 *   FINISH                 SUCCESS        2, end time set
 *   FAILED                 FAILED         3, end time set
 *
 * A `print` message with a command other than `push_status` answers a request; it is not
 * state. A `project_file` answer with `result: "failed"` fails the task it names, with the
 * printer's reason (stock firmware refuses third-party jobs unless in LAN-only mode with
 * Developer Mode on).
 */
import type { Kysely } from 'kysely'
import type { PrintStatus } from '@bambu-cloud/protocol'
import type { ServiceContext } from '../context.ts'
import type { Database } from '../db/schema.ts'
import { ApiError } from '../errors.ts'
import { deepMerge, isObject, parseObject, type JsonObject } from '../lib/json.ts'
import { KeyedSerial } from '../lib/keyed-serial.ts'
import { isoUtc } from '../lib/time.ts'
import type { DeviceRow, DeviceSummary } from './devices.ts'
import { TASK_CREATED, TASK_FAILED, TASK_FINISHED, TASK_RUNNING, type TaskRow, type TaskService } from './tasks.ts'

export function printStatusOf(gcodeState: unknown): PrintStatus {
  switch (gcodeState) {
    case 'PREPARE':
    case 'SLICING':
    case 'RUNNING':
      return 'RUNNING'
    case 'PAUSE':
      return 'PAUSE'
    case 'FINISH':
      return 'SUCCESS'
    case 'FAILED':
      return 'FAILED'
    default:
      return 'IDLE'
  }
}

const TASK_STATUS: Record<Exclude<PrintStatus, 'IDLE'>, number> = {
  RUNNING: TASK_RUNNING,
  PAUSE: TASK_RUNNING,
  SUCCESS: TASK_FINISHED,
  FAILED: TASK_FAILED,
}

/** The merged `print` object of a device's state. */
export function printOf(device: Pick<DeviceRow, 'state'>): JsonObject {
  const state = parseObject(device.state)
  return isObject(state.print) ? state.print : {}
}

/** The columns kept beside the state: what `user/bind` and `user/print` show of it. */
export interface LiveFacts {
  print_status: PrintStatus
  progress: number | null
  remaining_minutes: number | null
  live_project_id: string
}

function finite(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : typeof value === 'number' ? value : NaN
  return Number.isFinite(n) ? n : null
}

/** Derives the live columns from a device's state (its JSON text or the merged `print`). */
export function liveFacts(state: string | JsonObject): LiveFacts {
  const print = typeof state === 'string' ? printOf({ state }) : state
  const percent = finite(print.mc_percent)
  return {
    print_status: printStatusOf(print.gcode_state),
    progress: percent === null ? null : Math.max(0, Math.min(100, Math.round(percent))),
    remaining_minutes: finite(print.mc_remaining_time),
    live_project_id: text(print.project_id),
  }
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : ''
}

/** The firmware version an `info` report's `ota` module names, if it names one. */
function otaVersionOf(report: JsonObject): string | undefined {
  if (!isObject(report.info) || !Array.isArray(report.info.module)) return undefined
  const ota = report.info.module.find((m) => isObject(m) && m.name === 'ota')
  return isObject(ota) && typeof ota.sw_ver === 'string' && ota.sw_ver !== '' ? ota.sw_ver : undefined
}

/** A printer's answer to a request (it echoes the command), as opposed to a status report. */
function isAnswer(print: unknown): boolean {
  return isObject(print) && typeof print.command === 'string' && print.command !== 'push_status'
}

/** Whether an answer changes anything when applied: a refused print job, a firmware version. */
function answerMatters(answer: JsonObject): boolean {
  const print = answer.print as JsonObject
  return (print.command === 'project_file' && print.result === 'failed') || otaVersionOf(answer) !== undefined
}

/** The `print` fields that decide which task a report belongs to and how it moves. */
const TASK_FIELDS = ['gcode_state', 'task_id', 'subtask_name', 'gcode_start_time', 'gcode_file']

/** True when merging `a` then `b` into any state equals merging `deepMerge(a, b)` once. */
function mergesAssociatively(a: JsonObject, b: JsonObject): boolean {
  for (const [key, value] of Object.entries(b)) {
    if (!isObject(value) || !Object.hasOwn(a, key)) continue
    const before = a[key]
    // A value turning into an object replaces the state's object there; one merged patch would merge into it.
    if (!isObject(before) || !mergesAssociatively(before, value)) return false
  }
  return true
}

/**
 * One report that applying has the same effect as applying `first` then `second`, or
 * null when there is none: when `second` may move a task (a state or print not known
 * to equal `first`'s). Lets a busy broker record a burst of partial reports at once
 * without losing a RUNNING -> FINISH.
 */
export function combineReports(first: JsonObject, second: JsonObject): JsonObject | null {
  const a = isObject(first.print) ? first.print : undefined
  const b = isObject(second.print) ? second.print : undefined
  if (isAnswer(a) || isAnswer(b)) return null
  if (a && b) {
    for (const field of TASK_FIELDS) {
      if (Object.hasOwn(b, field) && (!Object.hasOwn(a, field) || !sameValue(a[field], b[field]))) return null
    }
  }
  return foldReports(first, second)
}

/**
 * One report that leaves the same state, firmware version and refused jobs as `first` then
 * `second`, or null when there is none (an answer that fails a job, a value turning into
 * an object). Unlike `combineReports` it may skip a task step: a state passed through
 * between them is not seen. For a printer whose reports pile up faster than they are
 * written, where skipping a step beats losing the report.
 */
export function foldReports(first: JsonObject, second: JsonObject): JsonObject | null {
  // An answer that changes nothing can go; one that does must stay a step of its own.
  if (isAnswer(first.print) && !answerMatters(first)) return second
  if (isAnswer(second.print) && !answerMatters(second)) return first
  const a = isObject(first.print) ? first.print : undefined
  const b = isObject(second.print) ? second.print : undefined
  if (isAnswer(a) || isAnswer(b)) return null
  let print = a ?? b
  if (a && b) {
    if (!mergesAssociatively(a, b)) return null
    print = deepMerge(a, b)
  }
  const info = otaVersionOf(second) !== undefined ? second.info : first.info
  const combined: JsonObject = {}
  if (print) combined.print = print
  if (info !== undefined) combined.info = info
  return combined
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b))
}

/** Epoch ms from a report's `gcode_start_time` (epoch seconds as text), when it is one. */
function startOf(print: JsonObject): number | undefined {
  const seconds = Number(text(print.gcode_start_time))
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined
}

export class DeviceStateService {
  /** Reports for one device are applied one at a time, in arrival order. */
  private readonly perDevice = new KeyedSerial()

  constructor(
    private readonly ctx: ServiceContext,
    private readonly tasks: TaskService,
  ) {}

  /** Applies one report exactly as a printer publishes it (`{"print":{...}}`, `{"info":{...}}`). */
  applyReport(devId: string, report: JsonObject): Promise<void> {
    return this.perDevice.run(devId, () =>
      this.tasks.transaction(async (trx) => {
        const [device] = await this.lockDevices(trx, [devId])
        if (!device) throw new ApiError('notFound', `no device ${devId}`)
        await this.applyTo(trx, device, [report], this.ctx.now())
      }),
    )
  }

  /**
   * Applies the reports of many devices (a few hundred at most) in one transaction, each
   * device's in the order given: the broker's batches. Returns the ids of devices that do
   * not exist.
   */
  async applyReports(batch: ReadonlyMap<string, readonly JsonObject[]>): Promise<string[]> {
    if (batch.size === 0) return []
    return this.tasks.transaction(async (trx) => {
      const devices = await this.lockDevices(trx, [...batch.keys()])
      const now = this.ctx.now()
      for (const device of devices) await this.applyTo(trx, device, batch.get(device.dev_id) ?? [], now)
      const found = new Set(devices.map((d) => d.dev_id))
      return [...batch.keys()].filter((id) => !found.has(id))
    })
  }

  /**
   * The devices' rows, held until the transaction ends: other server processes may apply
   * reports too. One query, in one order everywhere, so two processes cannot deadlock.
   */
  private lockDevices(trx: Kysely<Database>, devIds: string[]): Promise<DeviceRow[]> {
    let q = trx.selectFrom('devices').selectAll().where('dev_id', 'in', devIds).orderBy('dev_id')
    if (this.ctx.database.dialect === 'postgres') q = q.forUpdate()
    return q.execute()
  }

  private async applyTo(trx: Kysely<Database>, device: DeviceRow, reports: readonly JsonObject[], now: number): Promise<void> {
    const state = parseObject(device.state)
    let firmware = device.firmware_version
    let currentTaskId = device.current_task_id
    for (const report of reports) {
      firmware = otaVersionOf(report) ?? firmware
      if (isAnswer(report.print)) {
        const answer = report.print as JsonObject
        if (device.owner_uid !== null && answer.command === 'project_file' && answer.result === 'failed') {
          const reason = text(answer.reason) || 'the printer refused the print job'
          await this.failOwnedTask(trx, { ...device, owner_uid: device.owner_uid }, text(answer.task_id), `Refused by the printer: ${reason}`, now)
        }
        continue
      }
      if (isObject(report.print)) state.print = deepMerge(isObject(state.print) ? state.print : {}, report.print)
      if (device.owner_uid !== null && isObject(report.print) && isObject(state.print)) {
        currentTaskId = await this.follow(trx, { ...device, owner_uid: device.owner_uid, current_task_id: currentTaskId }, state.print, now)
      }
    }
    await trx
      .updateTable('devices')
      .set({
        state: JSON.stringify(state),
        ...liveFacts(isObject(state.print) ? state.print : {}),
        firmware_version: firmware,
        current_task_id: currentTaskId,
        updated_at: now,
      })
      .where('dev_id', '=', device.dev_id)
      .execute()
  }

  /**
   * Finds (or, for a LAN print, creates) the task a print belongs to and moves it. A new
   * print closes the device's previous task if that one never ended.
   */
  private async follow(db: Kysely<Database>, device: DeviceRow & { owner_uid: number }, print: JsonObject, now: number): Promise<number | null> {
    const status = printStatusOf(print.gcode_state)
    if (status === 'IDLE') return device.current_task_id
    const uid = device.owner_uid
    let task: TaskRow | undefined
    const reported = text(print.task_id)
    if (/^\d{1,15}$/.test(reported) && reported !== '0') task = await this.tasks.findOwned(db, uid, Number(reported))
    if (!task) {
      // Started on the LAN (or unknown to us): one task per print, known by file and start.
      const lanKey = `${text(print.subtask_name)}|${text(print.gcode_start_time)}`
      task = await this.tasks.findLan(db, uid, device.dev_id, lanKey)
      task ??= await this.tasks.insert(
        db,
        {
          uid,
          deviceId: device.dev_id,
          deviceModel: device.dev_model_name,
          deviceName: device.name,
          mode: 'lan_file',
          title: text(print.subtask_name) || text(print.gcode_file).split('/').pop() || 'Untitled',
          startTime: startOf(print) ?? now,
          lanKey,
        },
        now,
      )
    }
    if (device.current_task_id !== null && device.current_task_id !== task.id) {
      const previous = await this.tasks.findOwned(db, uid, device.current_task_id)
      if (previous) await this.tasks.transition(db, previous, TASK_FAILED, now)
    }
    await this.tasks.transition(db, task, TASK_STATUS[status], now, startOf(print))
    return task.id
  }

  /**
   * Fails a task of the device's owner that never reached the printer (its file could not
   * be sent, the printer was unreachable), with the reason the owner is shown.
   */
  failTask(devId: string, taskId: number, reason: string): Promise<void> {
    return this.perDevice.run(devId, () =>
      this.tasks.transaction(async (trx) => {
        const [device] = await this.lockDevices(trx, [devId])
        if (device?.owner_uid == null) return
        await this.failOwnedTask(trx, { ...device, owner_uid: device.owner_uid }, String(taskId), reason, this.ctx.now())
      }),
    )
  }

  /**
   * Fails the owner's task `taskId` on this device while it has not started: a refusal of a
   * repeated request for a print under way says nothing about that print.
   */
  private async failOwnedTask(db: Kysely<Database>, device: DeviceRow & { owner_uid: number }, taskId: string, reason: string, now: number): Promise<void> {
    if (!/^\d{1,15}$/.test(taskId)) return
    const task = await this.tasks.findOwned(db, device.owner_uid, Number(taskId))
    if (task?.device_id !== device.dev_id || task.status !== TASK_CREATED) return
    await this.tasks.transition(db, task, TASK_FAILED, now, undefined, reason)
  }

  /** Going offline changes `online`, not the task. */
  async setOnline(devId: string, online: boolean): Promise<void> {
    const res = await this.ctx.database.db
      .updateTable('devices')
      .set({ online: online ? 1 : 0, updated_at: this.ctx.now() })
      .where('dev_id', '=', devId)
      .executeTakeFirst()
    if (Number(res.numUpdatedRows) === 0) throw new ApiError('notFound', `no device ${devId}`)
  }

  printStatus(device: Pick<DeviceRow, 'print_status'>): PrintStatus {
    return device.print_status as PrintStatus
  }

  /** `user/print`: each device's live print; task fields null while it is idle. */
  async printView(devices: DeviceSummary[]) {
    const ids = devices.map((d) => d.current_task_id).filter((id): id is number => id !== null)
    const tasks = ids.length
      ? await this.ctx.database.db
          .selectFrom('tasks')
          .select(['id', 'title', 'model_id', 'profile_id', 'start_time', 'created_at', 'cover'])
          .where('id', 'in', ids)
          .execute()
      : []
    const byId = new Map(tasks.map((t) => [t.id, t]))
    return devices.map((d) => {
      const status = d.print_status as PrintStatus
      const task = d.current_task_id === null ? undefined : byId.get(d.current_task_id)
      const live = status !== 'IDLE' && task !== undefined
      // One object literal, no spreads: V8 builds it several times faster (this runs per device).
      return {
        dev_id: d.dev_id,
        dev_name: d.name,
        dev_model_name: d.dev_model_name,
        dev_product_name: d.dev_product_name,
        dev_online: d.online === 1,
        dev_access_code: d.dev_access_code,
        task_id: live ? String(task.id) : null,
        task_name: live ? task.title : null,
        task_status: live ? status : null,
        model_id: live ? task.model_id : null,
        project_id: live ? d.live_project_id : null,
        profile_id: live ? String(task.profile_id) : null,
        start_time: live ? isoUtc(task.start_time ?? task.created_at) : null,
        // Printers report minutes remaining; the cloud answers seconds.
        prediction: live ? Math.max(0, Math.round((d.remaining_minutes ?? 0) * 60)) : null,
        progress: live ? (d.progress ?? 0) : null,
        thumbnail: live ? (task.cover ?? this.tasks.placeholderCover) : null,
      }
    })
  }
}

