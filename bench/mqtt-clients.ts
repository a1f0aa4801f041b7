/**
 * The client side of bench/mqtt.ts, run in its own pinned process: a fleet of virtual
 * printers and one MQTT subscriber per user. Both live in this one process so that a
 * report's publish time and its arrival at the subscriber are read from the same clock.
 *
 * A report is told apart by its printer and `sequence_id` (each printer counts its own).
 * Prints `measure-start` / `measure-end` around the measured window and one
 * `result {json}` line; the printers keep reporting afterwards (so the caller can check
 * what HTTP shows) until stdin closes.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import mqtt, { type MqttClient } from 'mqtt'
import { parseDeviceTopic, pushallRequest, reportTopic, requestTopic, type DeviceMessage } from '@bambu-cloud/protocol'
import { startFleet, type Fleet } from '../packages/server/src/simulator/fleet.ts'

export interface ClientsConfig {
  /** mqtts://127.0.0.1:port or mqtt://127.0.0.1:port. */
  url: string
  /** The broker's certificate (PEM), trusted for mqtts. */
  ca: string | null
  printers: number
  devIdPrefix: string
  accessCode: string
  reportIntervalMs: number
  partialReports: boolean
  /** One `device/+/report` subscription per user instead of one per printer. */
  wildcard: boolean
  users: { uid: number; accessToken: string; devIds: string[] }[]
  /** Seconds. */
  warmup: number
  duration: number
}

export interface ClientsResult {
  seconds: number
  /** Reports published in the window while the printer was connected. */
  published: number
  /** Of those, received by their owner's subscriber. */
  delivered: number
  /** Published in the window and still not received a few seconds after it. */
  lost: number
  /** Reports a printer made in the window while disconnected (never sent). */
  unsent: number
  /** Messages received that no printer published or that came twice. */
  unexpected: number
  p50: number
  p99: number
  max: number
  printerDisconnects: number
  subscriberDisconnects: number
  /** CPU seconds this process used per second of the window. */
  clientCpu: number
  /** Event-loop delay of this process, p99, ms: high means the client side was the bottleneck. */
  loopDelayP99: number
  /** The newest sequence_id each of a few printers had published at the end of the window. */
  lastSequence: Record<string, string>
}

/** Seconds to wait after the window for reports still in flight. */
const GRACE = 3
const LOOP_RESOLUTION_MS = 10

const config = JSON.parse(process.argv[2] ?? '') as ClientsConfig
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const key = (devId: string, sequence: string) => `${devId}\u0000${sequence}`

/** Publish time (performance.now()) of each report not yet received. */
const inFlight = new Map<string, number>()
const latencies: number[] = []
let windowStart = Infinity
let windowEnd = Infinity
const counts = { published: 0, delivered: 0, unsent: 0, unexpected: 0, printerDisconnects: 0, subscriberDisconnects: 0 }
const lastSequence = new Map<string, string>()

function sequenceOf(message: DeviceMessage): string | undefined {
  const print = message.print
  return typeof print?.sequence_id === 'string' ? print.sequence_id : undefined
}

function received(topic: string, payload: Buffer): void {
  const now = performance.now()
  const parsed = parseDeviceTopic(topic)
  let sequence: string | undefined
  try {
    sequence = sequenceOf(JSON.parse(payload.toString('utf8')) as DeviceMessage)
  } catch {
    /* counted as unexpected below */
  }
  const k = parsed?.kind === 'report' && sequence !== undefined ? key(parsed.devId, sequence) : undefined
  const sent = k === undefined ? undefined : inFlight.get(k)
  if (sent === undefined) {
    counts.unexpected++
    return
  }
  inFlight.delete(k!)
  if (sent >= windowStart && sent < windowEnd) {
    counts.delivered++
    latencies.push(now - sent)
  }
}

async function subscribe(user: ClientsConfig['users'][number]): Promise<MqttClient> {
  const client = await mqtt.connectAsync(config.url, {
    clientId: `bench_${user.uid}`,
    username: `u_${user.uid}`,
    password: user.accessToken,
    protocolVersion: 4,
    clean: true,
    keepalive: 60,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...(config.ca ? { ca: config.ca } : {}),
  })
  client.on('error', () => {})
  client.on('close', () => counts.subscriberDisconnects++)
  client.on('message', received)
  const filters = config.wildcard ? ['device/+/report'] : user.devIds.map(reportTopic)
  const granted = await client.subscribeAsync(filters, { qos: 0 })
  const refused = granted.filter((g) => g.qos === 128).length
  if (refused > 0) throw new Error(`u_${user.uid}: ${refused} of ${filters.length} subscriptions refused`)
  return client
}

const percentile = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0

let fleet: Fleet | undefined
const subscribers: MqttClient[] = []

async function stop(code: number): Promise<never> {
  await Promise.race([Promise.all([fleet?.close(), ...subscribers.map((c) => c.endAsync(true))]), sleep(10_000)]).catch(() => {})
  process.exit(code)
}

async function main(): Promise<void> {
  const started = performance.now()
  fleet = await startFleet({
    count: config.printers,
    devIdPrefix: config.devIdPrefix,
    accessCode: config.accessCode,
    reportIntervalMs: config.reportIntervalMs,
    partialReports: config.partialReports,
    cloud: { url: config.url, ...(config.ca ? { ca: config.ca } : {}) },
    concurrency: 50,
  })
  log(`${config.printers} printers connected in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  for (const printer of fleet.printers) {
    printer.on('report', (message) => {
      const sequence = sequenceOf(message)
      if (sequence === undefined) return
      const now = performance.now()
      const inWindow = now >= windowStart && now < windowEnd
      if (!printer.cloudConnected) {
        if (inWindow) counts.unsent++
        return
      }
      inFlight.set(key(printer.devId, sequence), now)
      if (inWindow) counts.published++
      if (now < windowEnd) lastSequence.set(printer.devId, sequence)
    })
  }
  let wasConnected = new Set(fleet.printers.map((p) => p.devId))
  const watch = setInterval(() => {
    const now = new Set(fleet!.printers.filter((p) => p.cloudConnected).map((p) => p.devId))
    for (const id of wasConnected) if (!now.has(id)) counts.printerDisconnects++
    wasConnected = now
  }, 500)

  for (const user of config.users) subscribers.push(await subscribe(user))
  log(`${config.users.length} subscribers connected (${config.wildcard ? 'device/+/report' : 'one topic per printer'})`)
  // What a slicer or Home Assistant does first: ask each printer for its whole state.
  for (const [i, user] of config.users.entries()) {
    for (const devId of user.devIds) subscribers[i]!.publish(requestTopic(devId), JSON.stringify(pushallRequest('bench')), { qos: 0 })
  }

  await sleep(config.warmup * 1000)
  // Reports lost during the warm-up are not this window's; recent ones may still arrive.
  for (const [k, sent] of inFlight) if (sent < performance.now() - 5000) inFlight.delete(k)
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  loop.enable()
  const cpu = process.cpuUsage()
  process.stdout.write('measure-start\n')
  windowStart = performance.now()
  windowEnd = windowStart + config.duration * 1000
  await sleep(config.duration * 1000)
  const seconds = (performance.now() - windowStart) / 1000
  const used = process.cpuUsage(cpu)
  loop.disable()
  process.stdout.write('measure-end\n')
  await sleep(GRACE * 1000)
  clearInterval(watch)

  let lost = 0
  for (const sent of inFlight.values()) if (sent >= windowStart && sent < windowEnd) lost++
  const sorted = Float64Array.from(latencies).sort()
  const sample = Object.fromEntries(config.users.map((u) => u.devIds[0]!).flatMap((id) => (lastSequence.has(id) ? [[id, lastSequence.get(id)!]] : [])))
  const result: ClientsResult = {
    seconds,
    published: counts.published,
    delivered: counts.delivered,
    lost,
    unsent: counts.unsent,
    unexpected: counts.unexpected,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
    printerDisconnects: counts.printerDisconnects,
    subscriberDisconnects: counts.subscriberDisconnects,
    clientCpu: (used.user + used.system) / 1e6 / seconds,
    // The histogram holds the time between its timer's runs: the resolution itself is not delay.
    loopDelayP99: Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
    lastSequence: sample,
  }
  process.stdout.write(`result ${JSON.stringify(result)}\n`)
}

// The caller closes stdin when it is done (or dies): stop then, and never run on alone.
process.stdin.on('end', () => void stop(0))
process.stdin.on('close', () => void stop(0))
process.stdin.resume()
main().catch((err) => {
  log(`clients failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  void stop(1)
})
