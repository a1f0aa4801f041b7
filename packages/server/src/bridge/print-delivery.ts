/**
 * Prints on bridged printers, delivered the way Bambu Studio does on the LAN: a task made
 * for a plate of a project (`POST my/task`) has that plate's 3MF streamed from storage to
 * the printer over FTPS, then a `project_file` request naming it. It runs off the request
 * path, a few at a time.
 *
 * A task whose file cannot be found or sent fails here, with the reason, through the
 * device-state service; a printer that refuses the job answers on its report topic, and the
 * device-state service fails the task from that answer.
 */
import type { FastifyBaseLogger } from 'fastify'
import { LAN_USER, plateGcodePath, projectFileRequest } from '@bambu-cloud/protocol'
import { isObject, parseObject } from '../lib/json.ts'
import { uploadOverFtps } from '../lib/ftps-upload.ts'
import { createWorkQueue, type WorkQueue } from '../lib/work-queue.ts'
import type { Services } from '../services/index.ts'
import type { TaskRow } from '../services/tasks.ts'
import type { LinkStatus } from './printer-link.ts'

/** What delivery needs of the bridge's links. */
export interface PrinterLinks {
  status(devId: string): LinkStatus | null
  /** False when the printer is not connected. */
  publish(devId: string, payload: Buffer, qos: 0 | 1): boolean
}

/** Deliveries at once: each streams one file. */
const CONCURRENCY = 4
/** Task ids remembered for spotting a client's own `project_file` for the same task. */
const REMEMBERED = 1000

export class PrintDelivery {
  private readonly queue: WorkQueue
  private readonly taken = new Set<string>()
  private readonly stopListening: () => void

  constructor(
    private readonly services: Services,
    private readonly links: PrinterLinks,
    private readonly log: FastifyBaseLogger,
    private readonly ftpsTimeoutMs = 30_000,
  ) {
    this.queue = createWorkQueue(CONCURRENCY, (err) => log.error({ err }, 'bridge: print delivery failed'))
    this.stopListening = services.tasks.created.on((task) => this.taskCreated(task))
  }

  /**
   * True for a client's `project_file` naming a task delivered here: Studio sends one
   * itself after creating the task, and the printer must not get the job twice.
   */
  isDuplicate(request: unknown): boolean {
    const print = isObject(request) ? request.print : undefined
    return isObject(print) && print.command === 'project_file' && this.taken.has(String(print.task_id))
  }

  /** Stops taking tasks and waits for the deliveries under way. */
  async close(): Promise<void> {
    this.stopListening()
    await this.queue.close()
  }

  private taskCreated(task: TaskRow): void {
    if (this.links.status(task.device_id) === null) return
    // Only a plate of a project names a file to send; any other task is the client's to start.
    if (task.model_id === '' || task.profile_id <= 0 || task.plate_index < 1) return
    const id = String(task.id)
    this.taken.add(id)
    if (this.taken.size > REMEMBERED) this.taken.delete(this.taken.values().next().value!)
    this.queue.push(() => this.deliver(task))
  }

  private async deliver(task: TaskRow): Promise<void> {
    const fail = (reason: string) => this.services.deviceState.failTask(task.device_id, task.id, reason)
    const { devices, printFiles, blobs } = this.services
    const device = await devices.get(task.device_id)
    if (!device?.lan_ip) return fail('The printer is no longer bridged')
    const link = this.links.status(device.dev_id)
    if (link?.state !== 'connected') return fail(`The printer is not connected${link?.lastError ? `: ${link.lastError}` : ''}`)
    const file = await printFiles.forPlate(task.uid, task.model_id, task.profile_id, task.plate_index)
    const stored = file && (await blobs.open(file.blobKey))
    if (!file || !stored) return fail(`No 3MF is stored for plate ${task.plate_index} of this project`)
    const name = remoteName(task)
    const source = stored.stream(0, stored.size)
    try {
      await uploadOverFtps(
        {
          host: device.lan_ip,
          port: device.lan_ftps_port,
          user: LAN_USER,
          password: device.dev_access_code,
          pinnedSha256: device.lan_cert_sha256,
          timeoutMs: this.ftpsTimeoutMs,
        },
        source,
        `/${name}`,
      )
    } catch (err) {
      return fail(`Could not send the file to the printer: ${(err as Error).message}`)
    } finally {
      source.destroy()
      await stored.close()
    }
    const request = projectFileRequest({
      param: plateGcodePath(task.plate_index),
      url: `ftp:///${name}`,
      md5: file.md5,
      project_id: String(file.projectId),
      profile_id: String(task.profile_id),
      task_id: String(task.id),
      subtask_id: String(task.id),
      subtask_name: task.title,
      ...amsOf(task),
    })
    if (!this.links.publish(device.dev_id, Buffer.from(JSON.stringify(request)), 1)) {
      return fail('The printer disconnected before the print could be started')
    }
    this.log.info({ devId: device.dev_id, taskId: task.id, file: name }, 'bridge: print sent to the printer')
  }
}

/** The file's name on the printer: its title, made safe for FTP and the printer's screen, and the task id. */
export function remoteName(task: Pick<TaskRow, 'id' | 'title'>): string {
  const title = task.title
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+|[._]+$/g, '')
    .slice(0, 64)
  return `${title === '' ? 'task' : title}_${task.id}.3mf`
}

/** Studio's filament-to-tray choice (`amsDetailMapping`), when the task carries one. */
function amsOf(task: TaskRow): { use_ams: boolean; ams_mapping: number[] } | Record<string, never> {
  const mapping = parseObject(task.extra).amsDetailMapping
  if (!Array.isArray(mapping) || mapping.length === 0) return {}
  const trays = mapping.map((m) => (isObject(m) && typeof m.ams === 'number' ? m.ams : -1))
  return trays.some((tray) => tray >= 0) ? { use_ams: true, ams_mapping: trays } : {}
}
