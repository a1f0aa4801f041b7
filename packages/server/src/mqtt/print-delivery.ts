/**
 * Prints for printers connected to this broker. Bambu Studio publishes `project_file`
 * itself right after `POST my/task`; Bambu Connect and scripts expect the cloud to do it.
 * So a task for a plate of a project waits PRINT_DELIVERY_GRACE for the owner's own
 * `project_file` naming it; without one the server sends the job: the plate's 3MF as a
 * signed download URL and its md5. An offline printer gets it when it next listens, within
 * PRINT_DELIVERY_TIMEOUT of the task's creation; after that the task fails.
 *
 * Exactly one `project_file` per task reaches the printer, whoever sends it: once one has,
 * any later one naming the task is withheld. An owner's `project_file` naming one of this
 * server's files is made printable on its way: an upload URL becomes the file's download
 * URL, and an absent or all-zero md5 the file's own. Bridged printers are the bridge's.
 */
import type { FastifyBaseLogger } from 'fastify'
import { plateGcodePath, projectFileRequest } from '@bambu-cloud/protocol'
import { isObject, parseObject, type JsonObject } from '../lib/json.ts'
import type { Services } from '../services/index.ts'
import { givenMd5 } from '../services/print-files.ts'
import type { TaskRow } from '../services/tasks.ts'

export interface DeliveryTimings {
  graceMs: number
  timeoutMs: number
}

/** What delivery needs of the broker. */
export interface RequestChannel {
  isListening(devId: string): boolean
  /** Publishes a request on `device/<dev_id>/request`, as the broker (QoS 1). */
  publish(devId: string, payload: Buffer): void
}

interface Waiting {
  task: TaskRow
  timer: NodeJS.Timeout
  /** Past the grace period: sent as soon as the printer listens. */
  due: boolean
}

/** Task ids remembered as delivered, for withholding a second `project_file`. */
const REMEMBERED = 10_000

export class CloudPrintDelivery {
  private readonly waiting = new Map<string, Waiting>()
  private readonly delivered = new Set<string>()
  private readonly stopListening: () => void
  private closed = false

  constructor(
    private readonly services: Services,
    private readonly channel: RequestChannel,
    private readonly timings: DeliveryTimings,
    private readonly log: FastifyBaseLogger,
  ) {
    this.stopListening = services.tasks.created.on((task) => this.taskCreated(task))
  }

  /** The printer now reads its requests: its due jobs go out. */
  printerListening(devId: string): void {
    for (const entry of [...this.waiting.values()]) {
      if (entry.due && entry.task.device_id === devId) this.run(entry.task, () => this.deliver(entry.task))
    }
  }

  /**
   * An owner's request on its way to the printer: the payload to pass on (rewritten when it
   * is a `project_file` naming our file), or null to withhold it (its task already has a job).
   */
  async ownerRequest(uid: number, devId: string, payload: Buffer): Promise<Buffer | null> {
    if (!payload.includes('project_file')) return payload
    let request: unknown
    try {
      request = JSON.parse(payload.toString('utf8'))
    } catch {
      return payload
    }
    const print = isObject(request) ? request.print : undefined
    if (!isObject(print) || print.command !== 'project_file') return payload
    const taskId = String(print.task_id ?? '')
    if (this.delivered.has(taskId)) {
      this.log.info({ devId, taskId }, 'mqtt: a project_file for a task already delivered; withheld')
      return null
    }
    // Sent to nobody while the printer does not listen: then the server still delivers on connect.
    const entry = this.waiting.get(taskId)
    if (entry && entry.task.device_id === devId && this.channel.isListening(devId)) {
      this.forget(taskId)
      this.remember(taskId)
    }
    const fixed = await this.printable(uid, print)
    return fixed ? Buffer.from(JSON.stringify({ ...(request as JsonObject), print: fixed })) : payload
  }

  /** Cancels every wait; pending jobs are not sent. */
  close(): void {
    this.closed = true
    this.stopListening()
    for (const taskId of [...this.waiting.keys()]) this.forget(taskId)
  }

  private taskCreated(task: TaskRow): void {
    // Only a plate of a project names a file to send; any other task is the client's to start.
    if (this.closed || task.model_id === '' || task.profile_id <= 0 || task.plate_index < 1) return
    const taskId = String(task.id)
    const timer = setTimeout(() => this.run(task, () => this.graceOver(task)), this.timings.graceMs)
    timer.unref()
    this.waiting.set(taskId, { task, timer, due: false })
  }

  private async graceOver(task: TaskRow): Promise<void> {
    const entry = this.waiting.get(String(task.id))
    if (!entry) return
    const device = await this.services.devices.get(task.device_id)
    // The owner's own project_file may have settled it meanwhile.
    if (this.waiting.get(String(task.id)) !== entry) return
    if (!device || device.lan_ip) return void this.forget(String(task.id))
    if (this.channel.isListening(task.device_id)) return this.deliver(task)
    entry.due = true
    clearTimeout(entry.timer)
    entry.timer = setTimeout(() => this.run(task, () => this.expire(task)), Math.max(0, this.timings.timeoutMs - this.timings.graceMs))
    entry.timer.unref()
    this.log.info({ devId: task.device_id, taskId: task.id }, 'mqtt: printer offline; its print waits for it')
  }

  private async expire(task: TaskRow): Promise<void> {
    if (!this.forget(String(task.id))) return
    await this.services.deviceState.failTask(task.device_id, task.id, 'The printer did not connect within PRINT_DELIVERY_TIMEOUT to take the print')
  }

  private async deliver(task: TaskRow): Promise<void> {
    const taskId = String(task.id)
    if (!this.forget(taskId)) return
    this.remember(taskId)
    const file = await this.services.printFiles.forPlate(task.uid, task.model_id, task.profile_id, task.plate_index)
    if (!file) {
      await this.services.deviceState.failTask(task.device_id, task.id, `No 3MF is stored for plate ${task.plate_index} of this project`)
      return
    }
    const signer = await this.services.fileLinks.signer()
    const request = projectFileRequest(
      {
        param: plateGcodePath(task.plate_index),
        url: signer.download(file.blobKey),
        md5: file.md5,
        project_id: String(file.projectId),
        profile_id: String(task.profile_id),
        task_id: taskId,
        subtask_id: taskId,
        subtask_name: task.title,
        ...optionsOf(parseObject(task.extra)),
      },
      taskId,
    )
    this.channel.publish(task.device_id, Buffer.from(JSON.stringify(request)))
    this.log.info({ devId: task.device_id, taskId: task.id }, 'mqtt: print sent to the printer')
  }

  /** The `print` object with our file's download URL and md5; null when it names no file of the owner's. */
  private async printable(uid: number, print: JsonObject): Promise<JsonObject | null> {
    if (typeof print.url !== 'string') return null
    const file = await this.services.printFiles.printableOf(uid, print.url)
    if (!file) return null
    return { ...print, url: file.url, md5: typeof print.md5 === 'string' && givenMd5(print.md5) ? print.md5 : file.md5 }
  }

  /** Drops a task's wait; false when it was not waiting (delivered, expired or never here). */
  private forget(taskId: string): boolean {
    const entry = this.waiting.get(taskId)
    if (!entry) return false
    clearTimeout(entry.timer)
    this.waiting.delete(taskId)
    return true
  }

  private remember(taskId: string): void {
    this.delivered.add(taskId)
    if (this.delivered.size > REMEMBERED) this.delivered.delete(this.delivered.values().next().value!)
  }

  private run(task: TaskRow, work: () => Promise<void>): void {
    if (this.closed) return
    work().catch((err: unknown) => this.log.error({ err, taskId: task.id }, 'mqtt: print delivery failed'))
  }
}

/** Studio's print options, as the task carries them (either spelling), else its dialog's defaults. */
function optionsOf(extra: JsonObject) {
  const flag = (fallback: boolean, ...keys: string[]) => {
    for (const key of keys) if (typeof extra[key] === 'boolean') return extra[key] as boolean
    return fallback
  }
  const mapping = Array.isArray(extra.amsDetailMapping) ? extra.amsDetailMapping : []
  const trays = mapping.map((m) => (isObject(m) && typeof m.ams === 'number' ? m.ams : -1))
  const bedLeveling = flag(true, 'bed_leveling', 'bedLeveling')
  const bedType = typeof extra.bedType === 'string' && extra.bedType !== '' ? extra.bedType : typeof extra.bed_type === 'string' ? extra.bed_type : 'auto'
  return {
    timelapse: flag(false, 'timelapse'),
    // Studio names it `bed_leveling`; older documentation `bed_levelling`: both say the same.
    bed_leveling: bedLeveling,
    bed_levelling: bedLeveling,
    flow_cali: flag(true, 'flow_cali', 'flowCali'),
    vibration_cali: flag(true, 'vibration_cali', 'vibrationCali'),
    layer_inspect: flag(true, 'layer_inspect', 'layerInspect'),
    use_ams: flag(trays.some((tray) => tray >= 0), 'use_ams', 'useAms'),
    ams_mapping: trays,
    bed_type: bedType,
  }
}
