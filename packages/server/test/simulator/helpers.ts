/**
 * Helpers for virtual-printer tests: a LAN printer with an MQTT client subscribed to its
 * reports, a log of those reports that can be waited on, and FTPS uploads through
 * basic-ftp, as a slicer would make them.
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { TestContext } from 'node:test'
import { Client as FtpClient } from 'basic-ftp'
import mqtt, { type MqttClient } from 'mqtt'
import { reportTopic, requestTopic, type DeviceCommand, type DeviceMessage, type PrintReport } from '@bambu-cloud/protocol'
import { generateSelfSignedCertificate, type Certificate } from '../../src/lib/certificate.ts'
import { VirtualPrinter, type LanEndpoints, type VirtualPrinterOptions } from '../../src/simulator/virtual-printer.ts'

export const DEV_ID = 'SIM000000000001'
export const ACCESS_CODE = '12345678'
/** Generous: nothing here should take a second, but a loaded machine may be slow. */
export const WAIT_MS = 10_000

let certificate: Promise<Certificate> | undefined
/** One key pair per test file: generating RSA keys is the slowest thing here. */
export function testCertificate(): Promise<Certificate> {
  certificate ??= generateSelfSignedCertificate('virtual printer test')
  return certificate
}

/** Every message seen on a topic, in order, and a way to wait for one. */
export class ReportLog {
  readonly messages: DeviceMessage[] = []
  private readonly waiters = new Set<() => void>()

  constructor(client: MqttClient, topic: string) {
    client.on('message', (received, payload) => {
      if (received !== topic) return
      this.messages.push(JSON.parse(payload.toString()) as DeviceMessage)
      for (const wake of this.waiters) wake()
    })
  }

  /** Where the log stands now: pass it to `waitFor` to see only what comes after. */
  mark(): number {
    return this.messages.length
  }

  /** `print` reports from index `from` on. */
  prints(from = 0): PrintReport[] {
    return this.messages.slice(from).flatMap((m) => (m.print ? [m.print as PrintReport] : []))
  }

  /** The first message from `from` on that `match` accepts; fails after WAIT_MS naming `what`. */
  waitFor(what: string, match: (m: DeviceMessage) => boolean, from = 0): Promise<DeviceMessage> {
    return new Promise((resolve, reject) => {
      let index = from
      const check = () => {
        for (; index < this.messages.length; index++) {
          const message = this.messages[index]!
          if (match(message)) {
            done()
            resolve(message)
            return
          }
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`timed out waiting for ${what}; last messages: ${JSON.stringify(this.messages.slice(-3))}`))
      }, WAIT_MS)
      const done = () => {
        clearTimeout(timer)
        this.waiters.delete(check)
      }
      this.waiters.add(check)
      check()
    })
  }

  /** The first `print` report from `from` on whose fields satisfy `match`. */
  async waitForPrint(what: string, match: (p: PrintReport) => boolean, from = 0): Promise<PrintReport> {
    const message = await this.waitFor(what, (m) => m.print !== undefined && match(m.print as PrintReport), from)
    return message.print as PrintReport
  }

  /** The answer to a request: the same command and sequence_id, with a result. */
  async waitForAck(kind: string, command: string, sequenceId: string, from = 0): Promise<DeviceCommand> {
    const message = await this.waitFor(`the ${kind}.${command} answer to ${sequenceId}`, (m) => {
      const body = m[kind]
      return body?.command === command && body.sequence_id === sequenceId && typeof body.result === 'string'
    }, from)
    return message[kind]!
  }

  /** Waits for `count` more push_status reports after `from`. */
  async waitForReports(count: number, from: number): Promise<PrintReport[]> {
    await this.waitFor(`${count} more status reports`, () => this.prints(from).filter((p) => p.command === 'push_status').length >= count, from)
    return this.prints(from).filter((p) => p.command === 'push_status')
  }
}

export interface LanSetup {
  printer: VirtualPrinter
  lan: LanEndpoints
  client: MqttClient
  reports: ReportLog
  request(message: DeviceMessage): Promise<void>
}

/** A printer serving LAN mode, fast (a 10-minute print takes a second), and a client watching it. */
export async function startLanPrinter(t: TestContext, options: Partial<VirtualPrinterOptions> = {}): Promise<LanSetup> {
  const printer = new VirtualPrinter({
    devId: DEV_ID,
    accessCode: ACCESS_CODE,
    timeScale: 600,
    reportIntervalMs: 20,
    prepareSeconds: 30,
    printSeconds: 600,
    ...options,
  })
  let client: MqttClient | undefined
  t.after(async () => {
    await client?.endAsync(true)
    await printer.close()
  })
  const lan = await printer.serveLan({ certificate: await testCertificate() })
  client = await connectLan(lan.mqttPort, 'bblp', ACCESS_CODE)
  const reports = new ReportLog(client, reportTopic(printer.devId))
  await client.subscribeAsync(reportTopic(printer.devId))
  const c = client
  return {
    printer,
    lan,
    client,
    reports,
    request: async (message) => void (await c.publishAsync(requestTopic(printer.devId), JSON.stringify(message), { qos: 1 })),
  }
}

export function connectLan(port: number, username: string, password: string): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { username, password, rejectUnauthorized: false, reconnectPeriod: 0, connectTimeout: WAIT_MS }, false)
}

/** Uploads `content` as a slicer does (implicit FTPS, bblp) and returns its md5. */
export async function uploadOverFtps(port: number, remotePath: string, content: Buffer, password = ACCESS_CODE): Promise<string> {
  const ftp = new FtpClient(WAIT_MS)
  try {
    await ftp.access({ host: '127.0.0.1', port, user: 'bblp', password, secure: 'implicit', secureOptions: { rejectUnauthorized: false } })
    await ftp.uploadFrom(Readable.from([content]), remotePath)
  } finally {
    ftp.close()
  }
  return md5(content)
}

export function md5(content: Buffer): string {
  return createHash('md5').update(content).digest('hex')
}
