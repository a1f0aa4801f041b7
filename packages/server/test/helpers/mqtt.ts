/**
 * The cloud broker for a test app, and real MQTT clients (over TLS, trusting the broker's
 * certificate, or plain TCP) that record what they receive.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { startMqttBroker, type MqttBroker, type MqttBrokerOptions } from '../../src/mqtt/broker.ts'
import type { TestApp } from './app.ts'

/** Starts a broker on ephemeral TLS and plain ports; the app closes it (before its database). */
export async function startBroker(s: TestApp, timings?: MqttBrokerOptions['timings']): Promise<MqttBroker> {
  const broker = await startMqttBroker({ services: s.app.services, config: s.config, log: s.app.log, ports: { tls: 0, plain: 0 }, timings })
  s.app.mqtt = broker
  return broker
}

export interface Received {
  topic: string
  text: string
}

export interface TestClient {
  client: MqttClient
  received: Received[]
  /** Resolves once a message matching `match` has arrived (or fails after a few seconds). */
  receive(match: (m: Received) => boolean): Promise<Received>
  /** A round trip to the broker: whatever it sent this client before is in `received` afterwards. */
  roundTrip(): Promise<void>
  /** Resolves when the broker has closed the connection. */
  closed: Promise<void>
  end(): Promise<void>
}

export interface ConnectOptions {
  /** Plain TCP instead of TLS. */
  plain?: boolean
  keepalive?: number
  clientId?: string
  will?: IClientOptions['will']
}

/** Connects (rejecting with the CONNACK's refusal, `err.code`); disconnects when the test ends. */
export async function connect(broker: MqttBroker, username: string | undefined, password: string | Buffer | undefined, options: ConnectOptions = {}): Promise<TestClient> {
  const url = options.plain ? `mqtt://127.0.0.1:${broker.plainPort}` : `mqtts://127.0.0.1:${broker.tlsPort}`
  const client = await mqtt.connectAsync(url, {
    username,
    password: password as Buffer | undefined,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    keepalive: options.keepalive ?? 60,
    ...(options.clientId ? { clientId: options.clientId } : {}),
    ...(options.will ? { will: options.will } : {}),
    ca: broker.certificate ?? undefined,
  })
  // A refused publish ends the connection; the client reports it as an error too.
  client.on('error', () => {})
  const received: Received[] = []
  client.on('message', (topic, payload) => received.push({ topic, text: payload.toString('utf8') }))
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
  return {
    client,
    received,
    receive: (match) => eventually(() => received.find(match)),
    roundTrip: async () => {
      await client.unsubscribeAsync('round/trip')
    },
    closed,
    end: () => client.endAsync(),
  }
}

/** The SUBACK's return code for each filter, subscribed one by one: the QoS granted, or 128 for a refusal. */
export async function subscribeEach(client: MqttClient, filters: string[]): Promise<number[]> {
  const codes: number[] = []
  for (const filter of filters) {
    const code = await client.subscribeAsync(filter).then(
      ([grant]) => grant!.qos as number,
      // mqtt.js turns a refusal into an error that carries the SUBACK.
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted?.[0] ?? -1,
    )
    codes.push(code)
  }
  return codes
}

/** Polls `probe` until it returns something (not undefined/false), for up to `timeoutMs`. */
export async function eventually<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A `push_status` report as a printer publishes it. */
export function printReport(print: Record<string, unknown>): string {
  return JSON.stringify({ print: { command: 'push_status', sequence_id: '1', ...print } })
}
