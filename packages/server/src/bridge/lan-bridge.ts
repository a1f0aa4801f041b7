/**
 * The LAN bridge: reaches printers that cannot reach this cloud (stock firmware trusts only
 * the vendor's) through their own brokers. One upstream connection per bound printer with
 * a `lan_ip`, however many clients watch it: its reports are published into the cloud
 * broker as if the printer had sent them there (subscribers and device state get them),
 * and requests owners publish to the cloud broker are passed on to it. Prints created for
 * a bridged printer are delivered over FTPS (print-delivery.ts).
 *
 * Admin changes (address, ports, access code, owner, removal) restart or stop a printer's
 * link at once.
 *
 * @example
 *   const bridge = await startLanBridge({ services, broker, log })
 *   bridge.status('01S00C123456789') // { state: 'connected', ... }
 *   await bridge.close()
 */
import type { FastifyBaseLogger } from 'fastify'
import { ApiError } from '../errors.ts'
import { isObject } from '../lib/json.ts'
import { KeyedSerial } from '../lib/keyed-serial.ts'
import type { MqttBroker } from '../mqtt/broker.ts'
import type { Services } from '../services/index.ts'
import type { DeviceRow } from '../services/devices.ts'
import { PrintDelivery } from './print-delivery.ts'
import { DEFAULT_LINK_TIMINGS, PrinterLink, type LinkStatus, type LinkTimings } from './printer-link.ts'

export interface LanBridgeOptions {
  services: Services
  broker: MqttBroker
  log: FastifyBaseLogger
  /** Overrides intervals, milliseconds (tests shorten them). */
  timings?: Partial<LinkTimings> & { ftpsTimeoutMs?: number }
}

export interface LanBridge {
  /** The printer's link as this process sees it; null when it does not bridge the printer. */
  status(devId: string): LinkStatus | null
  /** Disconnects every printer (marking them offline) and waits for deliveries under way. */
  close(): Promise<void>
}

/** A request as JSON, or undefined for anything else (passed on as it is: the printer ignores garbage). */
function parseRequest(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'))
  } catch {
    return undefined
  }
}

export async function startLanBridge(options: LanBridgeOptions): Promise<LanBridge> {
  const { services, broker, log } = options
  const timings: LinkTimings = { ...DEFAULT_LINK_TIMINGS, ...options.timings }
  const links = new Map<string, PrinterLink>()
  /** Changes to one printer apply one at a time, in order. */
  const changes = new KeyedSerial()
  let closed = false

  function open(device: DeviceRow & { lan_ip: string }): PrinterLink {
    const devId = device.dev_id
    return new PrinterLink(
      devId,
      { host: device.lan_ip, mqttPort: device.lan_mqtt_port, accessCode: device.dev_access_code, pinnedSha256: device.lan_cert_sha256 },
      {
        pin: (sha256) => services.devices.pinLanCertificate(devId, sha256),
        report: (payload) => broker.publishReport(devId, payload),
        online: (online) =>
          services.deviceState.setOnline(devId, online).catch((err: unknown) => {
            // A removed printer has no presence left to record.
            if (!(err instanceof ApiError && err.kind === 'notFound')) throw err
          }),
      },
      timings,
      log,
    )
  }

  /** Brings one printer's link in line with its row: stopped, or (re)started with what it says now. */
  function resync(devId: string): Promise<void> {
    return changes
      .run(devId, async () => {
        const current = links.get(devId)
        links.delete(devId)
        await current?.close()
        if (closed) return
        const device = await services.devices.get(devId)
        if (device?.lan_ip && device.owner_uid !== null && !closed) links.set(devId, open({ ...device, lan_ip: device.lan_ip }))
      })
      .catch((err: unknown) => log.error({ err, devId }, 'bridge: could not apply a change to a printer'))
  }

  const delivery = new PrintDelivery(
    services,
    {
      status: (devId) => links.get(devId)?.status ?? null,
      publish: (devId, payload, qos) => links.get(devId)?.publish(payload, qos) ?? false,
    },
    log,
    options.timings?.ftpsTimeoutMs,
  )
  const unsubscribe = [
    services.devices.lanChanged.on((devId) => void resync(devId)),
    services.devices.ownerChanged.on((devId) => void resync(devId)),
    broker.onRequest((devId, payload) => {
      const link = links.get(devId)
      if (!link) return
      const request = parseRequest(payload)
      if (delivery.isDuplicate(request)) {
        log.debug({ devId }, 'bridge: a client’s project_file for a task already delivered; not passed on')
        return
      }
      // Print commands must not be lost on the way; status requests may.
      const qos = isObject(request) && isObject(request.print) ? 1 : 0
      if (!link.publish(payload, qos)) log.debug({ devId }, 'bridge: printer not connected; request dropped')
    }),
  ]

  for (const device of await services.devices.listBridged()) links.set(device.dev_id, open({ ...device, lan_ip: device.lan_ip! }))
  log.info({ printers: links.size }, 'LAN bridge started')

  let closing: Promise<void> | undefined
  return {
    status: (devId) => links.get(devId)?.status ?? null,
    close() {
      closing ??= (async () => {
        closed = true
        for (const off of unsubscribe) off()
        await delivery.close()
        await changes.settled()
        await Promise.all([...links.values()].map((link) => link.close()))
        links.clear()
        log.info('LAN bridge closed')
      })()
      return closing
    },
  }
}
