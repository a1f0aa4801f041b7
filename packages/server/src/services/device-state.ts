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
 */
import type { Kysely } from 'kysely'
import type { PrintStatus } from '@bambu-cloud/protocol'
import type { ServiceContext } from '../context.ts'
import type { Database } from '../db/schema.ts'
import { ApiError } from '../errors.ts'
import { deepMerge, isObject, parseObject, type JsonObject } from '../lib/json.ts'
import { isoUtc } from '../lib/time.ts'
import type { DeviceRow, DeviceSummary } from './devices.ts'
import { TASK_FAILED, TASK_FINISHED, TASK_RUNNING, type TaskRow, type TaskService } from './tasks.ts'

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

/** Epoch ms from a report's `gcode_start_time` (epoch seconds as text), when it is one. */
function startOf(print: JsonObject): number | undefined {
  const seconds = Number(text(print.gcode_start_time))
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined
}

export class DeviceStateService {
  /** Reports for one device are applied one at a time, in arrival order. */
  private readonly queues = new Map<string, Promise<unknown>>()

  constructor(
    private readonly ctx: ServiceContext,
    private readonly tasks: TaskService,
  ) {}

  private serialize<T>(devId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(devId) ?? Promise.resolve()
    const next = previous.then(work, work)
    const settled = next.catch(() => {})
    this.queues.set(devId, settled)
    void settled.then(() => {
      if (this.queues.get(devId) === settled) this.queues.delete(devId)
    })
    return next
  }

  /** Applies one report exactly as a printer publishes it (`{"print":{...}}`, `{"info":{...}}`). */
  applyReport(devId: string, report: JsonObject): Promise<void> {
    return this.serialize(devId, () =>
      this.ctx.database.db.transaction().execute(async (trx) => {
        let q = trx.selectFrom('devices').selectAll().where('dev_id', '=', devId)
        // Other server processes may apply reports too: hold the row while merging.
        if (this.ctx.database.dialect === 'postgres') q = q.forUpdate()
        const device = await q.executeTakeFirst()
        if (!device) throw new ApiError('notFound', `no device ${devId}`)
        const now = this.ctx.now()
        const state = parseObject(device.state)
        let firmware = device.firmware_version
        if (isObject(report.print)) state.print = deepMerge(isObject(state.print) ? state.print : {}, report.print)
        if (isObject(report.info) && Array.isArray(report.info.module)) {
          const ota = report.info.module.find((m) => isObject(m) && m.name === 'ota')
          if (isObject(ota) && typeof ota.sw_ver === 'string' && ota.sw_ver !== '') firmware = ota.sw_ver
        }
        let currentTaskId = device.current_task_id
        if (device.owner_uid !== null && isObject(report.print) && isObject(state.print)) {
          currentTaskId = await this.follow(trx, { ...device, owner_uid: device.owner_uid }, state.print, now)
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
          .where('dev_id', '=', devId)
          .execute()
      }),
    )
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

