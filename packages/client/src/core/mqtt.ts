/**
 * The live side of the cloud: its MQTT broker, reached with mqtt.js, which is an optional
 * peer dependency loaded on first use, so the HTTP SDK needs nothing else installed. The
 * broker takes `u_<uid>` and the access token; reports arrive on `device/<id>/report` and
 * requests go to `device/<id>/request`.
 */
import { BambuCloudError, ConnectionError, PermissionDeniedError } from './errors.ts'

/** Where the broker is and how to trust it. */
export interface MqttOptions {
  /** `mqtts://host:8883` (or `mqtt://` for a plain port). Default: the region's broker, or port 8883 on the API's host. */
  url?: string
  /** PEM of the certificate authority to trust (a self-hosted server's own certificate, say). */
  ca?: string
  /** false accepts any certificate (a self-signed one you have not pinned). Default true. */
  rejectUnauthorized?: boolean
}

/** The part of an mqtt.js client used here (typed locally, so the SDK's types do not need mqtt installed). */
export interface MqttConnection {
  subscribe(topic: string, options: { qos: 0 | 1 }, callback: (err: Error | null, granted?: { qos: number }[]) => void): unknown
  publish(topic: string, payload: string, options: { qos: 0 | 1 }, callback: (err?: Error) => void): unknown
  end(force?: boolean, options?: object, callback?: () => void): unknown
  on(event: 'message', listener: (topic: string, payload: Uint8Array) => void): unknown
  on(event: 'connect' | 'close' | 'offline', listener: () => void): unknown
  on(event: 'error', listener: (err: Error & { code?: number | string }) => void): unknown
  removeAllListeners(): unknown
  options: { password?: string | Uint8Array }
}

interface MqttModule {
  connect(url: string, options: Record<string, unknown>): MqttConnection
}

let loaded: Promise<MqttModule> | undefined

async function mqttModule(): Promise<MqttModule> {
  // A variable specifier keeps bundlers from insisting on the optional dependency.
  const name = 'mqtt'
  loaded ??= import(name).then(
    (m: { default?: MqttModule } & MqttModule) => (typeof m.connect === 'function' ? m : m.default!),
    (err: unknown) => {
      loaded = undefined
      throw new BambuCloudError('live printer features need the optional package `mqtt` (npm install mqtt@5)', { cause: err })
    },
  )
  return loaded
}

/** CONNACK codes of a refused login (MQTT 3.1.1: 4, 5; MQTT 5: 134, 135). */
export function isLoginRefused(err: { code?: number | string }): boolean {
  return err.code === 4 || err.code === 5 || err.code === 134 || err.code === 135
}

/**
 * Connects and resolves once the broker accepted the login; mqtt.js then reconnects by
 * itself after a lost connection. A refused login rejects (and stops reconnecting).
 */
export async function connectMqtt(url: string, username: string, password: string, tls: MqttOptions, signal?: AbortSignal): Promise<MqttConnection> {
  const mqtt = await mqttModule()
  signal?.throwIfAborted()
  const client = mqtt.connect(url, {
    username,
    password,
    clientId: `bambu-cloud-sdk-${Math.random().toString(16).slice(2, 14)}`,
    protocolVersion: 4,
    keepalive: 30,
    reconnectPeriod: 2000,
    connectTimeout: 15_000,
    ca: tls.ca,
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
  })
  return new Promise((resolve, reject) => {
    let settled = false
    const fail = (err: unknown) => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', onAbort)
      client.removeAllListeners()
      client.on('error', () => {})
      client.end(true)
      reject(err)
    }
    const onAbort = () => fail(signal!.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    client.on('connect', () => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', onAbort)
      resolve(client)
    })
    // After the first CONNACK, mqtt.js reconnects by itself; the callers watch for refusals.
    client.on('error', (err) => {
      // Before it, any failure (refused socket, untrusted certificate, refused login) ends the attempt.
      if (isLoginRefused(err)) fail(err)
      else if (typeof err.code !== 'number') fail(new ConnectionError(`cannot reach the MQTT broker at ${url}`, { cause: err }))
    })
  })
}

export function subscribe(client: MqttConnection, topic: string): Promise<void> {
  return new Promise((resolve, reject) =>
    client.subscribe(topic, { qos: 0 }, (err, granted) => {
      // 128 (0x80) in the SUBACK: the broker refused the subscription (mqtt.js 5 reports it as an error carrying the packet).
      const refused = (err as { packet?: { granted?: number[] } } | null)?.packet?.granted?.some((code) => code >= 128) || granted?.some((g) => g.qos >= 128)
      if (refused) return reject(new PermissionDeniedError(403, undefined, `the MQTT broker refused ${topic} (not your printer?)`))
      if (err) return reject(err)
      resolve()
    }),
  )
}

export function publish(client: MqttConnection, topic: string, message: unknown, qos: 0 | 1 = 0): Promise<void> {
  return new Promise((resolve, reject) => client.publish(topic, JSON.stringify(message), { qos }, (err) => (err ? reject(err) : resolve())))
}

/** Ends the connection; errors while it closes (a reset, say) are of no interest any more. */
export function disconnect(client: MqttConnection): Promise<void> {
  client.on('error', () => {})
  return new Promise((resolve) => client.end(false, {}, () => resolve()))
}
