/**
 * A virtual printer: the printer's side of the MQTT protocol, for tests, demos and
 * benchmarks. It answers `pushall` and `get_version`, runs `project_file` prints through
 * PREPARE, RUNNING and FINISH on a simulated clock, obeys pause, resume and stop, and
 * pushes `push_status` reports on a fixed cadence: only the changed fields, like a P1, or
 * the whole object every time, like an X1.
 *
 * It reaches clients through a cloud broker (`connectToCloud`), through its own LAN
 * broker and FTPS storage (`serveLan`), or both. One timer per printer drives everything,
 * so a thousand of them cost little more than their reports.
 *
 * @example
 * const printer = new VirtualPrinter({ devId: 'SIM000000000001', accessCode: '12345678', timeScale: 60 })
 * const lan = await printer.serveLan()
 * printer.on('finished', () => console.log('done'))
 * // mqtts://127.0.0.1:<lan.mqttPort> as bblp / 12345678, ftps://127.0.0.1:<lan.ftpsPort>
 * await printer.close()
 */
import { EventEmitter } from 'node:events'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { LAN_USER, reportTopic, type DeviceCommand, type DeviceMessage, type PrintReport } from '@bambu-cloud/protocol'
import { generateSelfSignedCertificate, type Certificate } from '../lib/certificate.ts'
import { isObject } from '../lib/json.ts'
import { CloudLink, type CloudLinkOptions } from './cloud-link.ts'
import { FtpsServer } from './ftps-server.ts'
import { LanBroker } from './lan-broker.ts'
import { checkProjectFile, type StoredProjectFile } from './project-file.ts'
import { versionModules, type PrinterIdentity } from './print-report.ts'
import { PrinterState } from './printer-state.ts'

export interface VirtualPrinterOptions {
  /** The serial number, 15 characters on real printers. */
  devId: string
  /** The LAN access code (8 characters on real printers); the password everywhere. */
  accessCode: string
  /** `dev_model_name`. Default `C11` (P1P). */
  model?: string
  /** Default the dev_id. */
  name?: string
  /** The `ota` module version `get_version` reports. Default `01.08.01.00`. */
  firmware?: string
  /** Default `0.4`. */
  nozzleDiameter?: string
  /** Simulated seconds per real second. Default 1; 600 runs a 10-minute print in a second. */
  timeScale?: number
  /** Default true: reports carry only what changed (P1, A1). False: the full object (X1). */
  partialReports?: boolean
  /** Real milliseconds between `push_status` reports. Default 1000. */
  reportIntervalMs?: number
  /** Real milliseconds before the first report; spreads a fleet's reports. Default `reportIntervalMs`. */
  firstReportDelayMs?: number
  /** Simulated seconds of PREPARE. Default 30. */
  prepareSeconds?: number
  /** Simulated seconds of printing when the 3MF has no prediction for the plate. Default 1800. */
  printSeconds?: number
  /** Refuse `project_file` as stock firmware does outside LAN-only mode with Developer Mode. */
  refuseProjectFile?: boolean
  /** Cap on an upload or a download. Default 512 MiB. */
  maxFileBytes?: number
}

export interface LanOptions {
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0: any free port (8883 on a real printer). */
  mqttPort?: number
  /** Default 0: any free port (990 on a real printer). */
  ftpsPort?: number
  /** Default: a new self-signed one. Pass one to share it across a fleet. */
  certificate?: Certificate
}

export interface LanEndpoints {
  host: string
  mqttPort: number
  ftpsPort: number
  /** Always `bblp`; the password is the access code. */
  user: string
}

export interface VirtualPrinterEvents {
  /** Something in the print object changed; the object is live, do not modify it. */
  state: [state: Readonly<PrintReport>]
  /** Every message the printer sends, before it is serialised. */
  report: [message: DeviceMessage]
  /** A print reached FINISH. */
  finished: [state: Readonly<PrintReport>]
  /** A print failed or was stopped, or the file a project_file named could not be used. */
  failed: [reason: string, state: Readonly<PrintReport>]
}

const MiB = 1024 * 1024
const REFUSED_REASON = 'third-party print jobs need LAN-only mode with Developer Mode on'

export class VirtualPrinter extends EventEmitter<VirtualPrinterEvents> {
  readonly devId: string
  readonly accessCode: string
  readonly name: string
  readonly model: string
  refuseProjectFile: boolean
  /** Every `project_file` command received, in order (tests count the jobs that reached the printer). */
  readonly projectFiles: DeviceCommand[] = []

  private readonly identity: PrinterIdentity
  private readonly status: PrinterState
  private readonly timeScale: number
  private readonly partialReports: boolean
  private readonly reportIntervalMs: number
  private readonly prepareSeconds: number
  private readonly printSeconds: number
  private readonly maxFileBytes: number
  private readonly topic: string
  private readonly storage = new Map<string, StoredProjectFile>()
  private readonly aborter = new AbortController()
  private timer: NodeJS.Timeout | null = null
  private lastTickAt = Date.now()
  private reportCounter = 0
  /** A project_file is being checked (a download may take a while): the printer is busy. */
  private starting = false
  private cloud: CloudLink | null = null
  private lanBroker: LanBroker | null = null
  private ftps: FtpsServer | null = null
  private storageDir: string | null = null
  private lanEndpoints: LanEndpoints | null = null
  /** Set as soon as a transport is asked for, so a second call fails instead of racing the first. */
  private readonly opening = { cloud: false, lan: false }
  private closed = false

  constructor(options: VirtualPrinterOptions) {
    super()
    this.devId = options.devId
    this.accessCode = options.accessCode
    this.name = options.name ?? options.devId
    this.model = options.model ?? 'C11'
    this.refuseProjectFile = options.refuseProjectFile ?? false
    this.identity = { devId: this.devId, model: this.model, firmware: options.firmware ?? '01.08.01.00', nozzleDiameter: options.nozzleDiameter ?? '0.4' }
    this.status = new PrinterState(this.identity)
    this.timeScale = positive(options.timeScale ?? 1, 'timeScale')
    this.partialReports = options.partialReports ?? true
    this.reportIntervalMs = positive(options.reportIntervalMs ?? 1000, 'reportIntervalMs')
    this.prepareSeconds = options.prepareSeconds ?? 30
    this.printSeconds = positive(options.printSeconds ?? 1800, 'printSeconds')
    this.maxFileBytes = options.maxFileBytes ?? 512 * MiB
    this.topic = reportTopic(this.devId)
    this.startTicking(options.firstReportDelayMs ?? this.reportIntervalMs)
  }

  /** A copy of the full print object as it stands. */
  get state(): PrintReport {
    return { ...this.status.report }
  }

  /** Where the LAN endpoints listen, once `serveLan` has run. */
  get lan(): LanEndpoints | null {
    return this.lanEndpoints
  }

  /** Clients logged in to the LAN broker now (a printer accepts only a few). */
  get lanClients(): number {
    return this.lanBroker?.clients ?? 0
  }

  get cloudConnected(): boolean {
    return this.cloud?.connected ?? false
  }

  /** Connects to a cloud broker as this printer; resolves once subscribed to its requests. */
  async connectToCloud(options: CloudLinkOptions): Promise<void> {
    if (this.opening.cloud) throw new Error(`${this.devId} is already connected to a cloud broker`)
    this.opening.cloud = true
    try {
      this.cloud = await CloudLink.connect(this.devId, this.accessCode, options, (payload) => this.handleRequest(payload))
    } catch (err) {
      this.opening.cloud = false
      throw err
    }
    if (this.closed) await this.cloud.close()
  }

  /** Starts the printer's own MQTT broker and FTPS storage, both TLS, on `host`. */
  async serveLan(options: LanOptions = {}): Promise<LanEndpoints> {
    if (this.opening.lan) throw new Error(`${this.devId} already serves its LAN endpoints`)
    this.opening.lan = true
    const host = options.host ?? '127.0.0.1'
    const certificate = options.certificate ?? (await generateSelfSignedCertificate(this.devId, ['localhost', host]))
    this.storageDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bambu-printer-'))
    // Printers keep slicer uploads at the root and cloud downloads under /cache.
    await fs.mkdir(path.join(this.storageDir, 'cache'))
    this.lanBroker = await LanBroker.start({
      devId: this.devId,
      accessCode: this.accessCode,
      certificate,
      host,
      port: options.mqttPort ?? 0,
      onRequest: (payload) => this.handleRequest(payload),
    })
    const root = this.storageDir
    this.ftps = await FtpsServer.start({ root, user: LAN_USER, password: this.accessCode, certificate, host, port: options.ftpsPort ?? 0, maxFileBytes: this.maxFileBytes })
    this.ftps.on('stored', (file) => this.storage.set(file.path, { md5: file.md5, diskPath: path.join(root, ...file.path.split('/')) }))
    this.ftps.on('deleted', (ftpPath) => this.storage.delete(ftpPath))
    this.lanEndpoints = { host, mqttPort: this.lanBroker.port, ftpsPort: this.ftps.port, user: LAN_USER }
    if (this.closed) await this.closeTransports()
    return this.lanEndpoints
  }

  /**
   * Takes one request as it arrives on the request topic. Anything that is not a JSON
   * object with an object inside is ignored, as printers ignore garbage.
   */
  handleRequest(payload: Buffer | string): void {
    if (this.closed) return
    let message: unknown
    try {
      message = JSON.parse(payload.toString())
    } catch {
      return
    }
    if (!isObject(message)) return
    const kind = Object.keys(message)[0]
    const command = kind === undefined ? undefined : message[kind]
    if (kind === undefined || !isObject(command)) return
    this.dispatch(kind, command as DeviceCommand)
  }

  /** The print under way fails on its own: FAILED, a print_error and an HMS entry. False when idle. */
  fail(reason = 'failed on request'): boolean {
    this.catchUp()
    if (!this.status.fail()) return false
    this.reportStatus()
    this.emit('failed', reason, this.status.report)
    return true
  }

  /** Stops the clock, closes every connection and listener, and deletes stored files. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.aborter.abort()
    await this.closeTransports()
  }

  private async closeTransports(): Promise<void> {
    await Promise.all([this.cloud?.close(), this.lanBroker?.close(), this.ftps?.close()])
    if (this.storageDir) await fs.rm(this.storageDir, { recursive: true, force: true })
  }

  private dispatch(kind: string, command: DeviceCommand): void {
    const name = command.command
    if (kind === 'pushing' && name === 'pushall') return this.reportStatus(true, command.sequence_id)
    if (kind === 'info' && name === 'get_version') {
      return this.send({ info: { command: 'get_version', sequence_id: command.sequence_id ?? '0', module: versionModules(this.identity) } })
    }
    if (kind === 'print') {
      if (name === 'project_file') {
        this.projectFiles.push(command)
        return void this.startProjectFile(command)
      }
      if (name === 'pause' || name === 'resume' || name === 'stop') return this.control(command, name)
    }
    this.acknowledge(kind, command, 'unsupported')
  }

  private control(command: DeviceCommand, name: 'pause' | 'resume' | 'stop'): void {
    this.catchUp()
    const applied = name === 'pause' ? this.status.pause() : name === 'resume' ? this.status.resume() : this.status.stop()
    const why = { pause: 'no print to pause', resume: 'no paused print to resume', stop: 'no print to stop' }[name]
    this.acknowledge('print', command, applied ? null : why)
    if (!applied) return
    this.reportStatus()
    if (name === 'stop') this.emit('failed', 'stopped', this.status.report)
  }

  private async startProjectFile(command: DeviceCommand): Promise<void> {
    if (this.refuseProjectFile) return this.acknowledge('print', command, REFUSED_REASON)
    if (this.starting || this.status.busy) return this.acknowledge('print', command, 'a print is already in progress')
    this.starting = true
    try {
      const check = await checkProjectFile(command, {
        storage: this.storage,
        prepareSeconds: this.prepareSeconds,
        printSeconds: this.printSeconds,
        maxDownloadBytes: this.maxFileBytes,
        signal: this.aborter.signal,
      })
      if (this.closed) return
      this.catchUp()
      if (check.ok) {
        this.acknowledge('print', command, null)
        this.status.start(check.job, Date.now())
        this.reportStatus()
        return
      }
      this.acknowledge('print', command, check.reason)
      if (check.printError === undefined || !check.ids) return
      this.status.refuse(check.ids, check.printError)
      this.reportStatus()
      this.emit('failed', check.reason, this.status.report)
    } finally {
      this.starting = false
    }
  }

  /** Echoes a request with `result` and `reason`, as printers answer commands. */
  private acknowledge(kind: string, command: DeviceCommand, failure: string | null): void {
    this.send({ [kind]: { ...command, result: failure === null ? 'success' : 'failed', reason: failure ?? '' } })
  }

  /** Sends a push_status: full (pushall, X1 style) or the fields changed since the last one. */
  private reportStatus(full = !this.partialReports, sequenceId?: string): void {
    const changed = this.status.hasChanges
    const sequence = sequenceId ?? String(++this.reportCounter)
    let print: PrintReport
    if (full) {
      print = this.status.report
      print.sequence_id = sequence
      this.status.forgetChanges()
    } else {
      print = this.status.takeChanges()
      print.command = 'push_status'
      print.sequence_id = sequence
    }
    this.send({ print })
    if (changed) this.emit('state', this.status.report)
  }

  private send(message: DeviceMessage): void {
    if (this.closed) return
    this.emit('report', message)
    if (!this.lanBroker && !this.cloud?.connected) return
    const payload = JSON.stringify(message)
    this.lanBroker?.publish(this.topic, payload)
    this.cloud?.publish(this.topic, payload)
  }

  private startTicking(firstDelayMs: number): void {
    const tick = () => {
      this.timer = setTimeout(tick, this.reportIntervalMs)
      this.timer.unref()
      const before = this.status.gcodeState
      const entered = this.status.advance(this.elapsedSeconds())
      this.reportStatus()
      if (entered === 'FINISH' && before !== 'FINISH') this.emit('finished', this.status.report)
    }
    this.timer = setTimeout(tick, firstDelayMs)
    this.timer.unref()
  }

  /** Counts the time since the last tick before a command changes the state; phases still end on ticks. */
  private catchUp(): void {
    this.status.accrue(this.elapsedSeconds())
  }

  /** Simulated seconds since the last call. */
  private elapsedSeconds(): number {
    const now = Date.now()
    const seconds = ((now - this.lastTickAt) / 1000) * this.timeScale
    this.lastTickAt = now
    return seconds
  }
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number`)
  return value
}
