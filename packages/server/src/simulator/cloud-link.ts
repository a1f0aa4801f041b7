/**
 * A printer's connection to a cloud broker: one MQTT client that logs in as the printer
 * (user name the dev_id, password the access code), takes requests from
 * `device/<dev_id>/request` and publishes reports to `device/<dev_id>/report` at QoS 0.
 * Once connected it reconnects on its own; reports made while offline are dropped, as a
 * printer's are (the cloud asks for `pushall` when it needs the whole state).
 */
import mqtt, { type MqttClient } from 'mqtt'
import { requestTopic } from '@bambu-cloud/protocol'

export interface CloudLinkOptions {
  /** `mqtt://host:1883` or `mqtts://host:8883`. */
  url: string
  /** Certificate authorities to trust for mqtts (PEM). */
  ca?: string | Buffer
  /** Default true; false accepts any certificate (a self-signed test broker). */
  rejectUnauthorized?: boolean
  /** Default `dev_<dev_id>`. */
  clientId?: string
  /** Seconds. Default 60. */
  keepalive?: number
  /** Default 2000. */
  reconnectPeriodMs?: number
  /** Default 10000. */
  connectTimeoutMs?: number
}

export class CloudLink {
  private constructor(private readonly client: MqttClient) {}

  /** Resolves once logged in and subscribed; rejects (and gives up) if the first attempt fails. */
  static async connect(devId: string, accessCode: string, options: CloudLinkOptions, onRequest: (payload: Buffer) => void): Promise<CloudLink> {
    const client = mqtt.connect(options.url, {
      clientId: options.clientId ?? `dev_${devId}`,
      username: devId,
      password: accessCode,
      protocolVersion: 4,
      clean: true,
      keepalive: options.keepalive ?? 60,
      reconnectPeriod: options.reconnectPeriodMs ?? 2000,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      // A report is only worth sending now; a backlog after an outage would be stale.
      queueQoSZero: false,
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
    })
    try {
      await new Promise<void>((resolve, reject) => {
        const fail = (err?: Error) => {
          client.off('connect', ok)
          reject(new Error(`cannot connect ${devId} to ${options.url}: ${err?.message ?? 'connection closed'}`))
        }
        const ok = () => {
          client.off('error', fail)
          client.off('close', fail)
          resolve()
        }
        client.once('connect', ok)
        client.once('error', fail)
        client.once('close', fail)
      })
      await client.subscribeAsync(requestTopic(devId), { qos: 1 })
    } catch (err) {
      client.end(true)
      throw err
    }
    const topic = requestTopic(devId)
    client.on('message', (received, payload) => {
      if (received === topic) onRequest(payload)
    })
    // Refusals and drops after the first connection only mean "try again later".
    client.on('error', () => {})
    return new CloudLink(client)
  }

  get connected(): boolean {
    return this.client.connected
  }

  publish(topic: string, payload: string): void {
    if (this.client.connected) this.client.publish(topic, payload, { qos: 0 })
  }

  async close(): Promise<void> {
    await this.client.endAsync()
  }
}
