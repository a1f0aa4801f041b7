/**
 * Many virtual printers at once, for demos and benchmarks: numbered serials, one access
 * code each (or one for all), reports spread evenly over the interval rather than all on
 * the same millisecond, connections opened a bounded number at a time.
 *
 * @example
 * const fleet = await startFleet({ count: 1000, cloud: { url: 'mqtt://127.0.0.1:1883' } })
 * for (const p of fleet.printers) console.log(p.devId, p.accessCode)
 * await fleet.close()
 */
import { generateSelfSignedCertificate } from '../lib/certificate.ts'
import { randomDigits } from '../lib/secrets.ts'
import type { CloudLinkOptions } from './cloud-link.ts'
import { VirtualPrinter, type VirtualPrinterOptions } from './virtual-printer.ts'

export interface FleetOptions extends Omit<VirtualPrinterOptions, 'devId' | 'accessCode' | 'name' | 'firstReportDelayMs'> {
  count: number
  /** Serials are this followed by the printer's number, zero-padded to 15 characters. Default `SIM`. */
  devIdPrefix?: string
  /** One access code for every printer. Default: eight random digits each. */
  accessCode?: string
  /** Connect every printer to this cloud broker. */
  cloud?: CloudLinkOptions
  /** Give every printer its own LAN broker and FTPS storage on `host`, on free ports. */
  lan?: { host?: string }
  /** Printers connecting at the same time. Default 50. */
  concurrency?: number
}

export interface Fleet {
  printers: VirtualPrinter[]
  close(): Promise<void>
}

export const SERIAL_LENGTH = 15

/** The serial of printer `n` (from 1): `SIM000000000042`. Longer when the prefix leaves too little room. */
export function fleetDevId(prefix: string, n: number): string {
  return prefix + String(n).padStart(Math.max(1, SERIAL_LENGTH - prefix.length), '0')
}

/** Creates `count` printers and connects them as asked; on any failure closes them all and throws. */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const { count, devIdPrefix = 'SIM', accessCode, cloud, lan, concurrency = 50, ...printerOptions } = options
  if (!Number.isInteger(count) || count < 1) throw new RangeError('count must be a positive integer')
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer')
  const interval = printerOptions.reportIntervalMs ?? 1000
  const printers = Array.from({ length: count }, (_, i) => new VirtualPrinter({
    ...printerOptions,
    devId: fleetDevId(devIdPrefix, i + 1),
    accessCode: accessCode ?? randomDigits(8),
    name: `Virtual printer ${i + 1}`,
    firstReportDelayMs: Math.max(1, Math.round((interval * (i + 1)) / count)),
  }))
  const fleet: Fleet = { printers, close: async () => void (await Promise.all(printers.map((p) => p.close()))) }
  try {
    // One key pair for the whole fleet: generating one per printer would take minutes.
    const certificate = lan ? await generateSelfSignedCertificate('virtual printer', ['localhost', lan.host ?? '127.0.0.1']) : undefined
    for (let start = 0; start < count; start += concurrency) {
      // Settled, not raced: closing a printer halfway through its start would leak its sockets.
      const results = await Promise.allSettled(printers.slice(start, start + concurrency).map(async (printer) => {
        if (lan) await printer.serveLan({ host: lan.host, certificate })
        if (cloud) await printer.connectToCloud(cloud)
      }))
      const failure = results.find((r) => r.status === 'rejected')
      if (failure) throw failure.reason
    }
  } catch (err) {
    await fleet.close()
    throw err
  }
  return fleet
}
