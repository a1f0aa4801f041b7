/**
 * The LAN bridge's one connection to one printer's own broker: TLS, then the printer's
 * certificate checked against the one pinned for it (or pinned now, on first use) before
 * the access code is sent, then `bblp` login, its report topic subscribed and a full state
 * asked for. Printers present self-signed certificates, so the pin, not a CA, is what
 * keeps another host on the network from collecting the access code.
 *
 * Lost or refused, it tries again after a delay that doubles (with jitter) up to a
 * ceiling, until closed.
 */
import tls from 'node:tls'
import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { MqttClient } from 'mqtt'
import { LAN_USER, pushallRequest, reportTopic, requestTopic } from '@bambu-cloud/protocol'

export type LinkState = 'connecting' | 'connected' | 'backoff' | 'off'

export interface LinkStatus {
  state: LinkState
  /** Epoch ms the link entered its state. */
  since: number
  lastError: string | null
  /** Connection attempts after the first. */
  reconnects: number
  lastReportAt: number | null
}

export interface PrinterAddress {
  host: string
  mqttPort: number
  accessCode: string
  /** Null: trust the first certificate seen, and pin it. */
  pinnedSha256: string | null
}

export interface LinkTimings {
  /** The first retry's delay; each failure in a row doubles it. */
  retryMinMs: number
  retryMaxMs: number
  connectTimeoutMs: number
  keepaliveSeconds: number
}

export const DEFAULT_LINK_TIMINGS: LinkTimings = { retryMinMs: 1000, retryMaxMs: 60_000, connectTimeoutMs: 10_000, keepaliveSeconds: 30 }

export interface LinkHooks {
  /** Stores a first-seen fingerprint unless one is pinned; resolves to the pinned one. */
  pin(sha256: string): Promise<string | null>
  report(payload: Buffer): void
  online(online: boolean): Promise<void>
}

/** MQTT 3.1.1 CONNACK refusals for bad credentials. */
const REFUSED_LOGIN = new Set([4, 5])

export class PrinterLink {
  private state: LinkState = 'connecting'
  private since = Date.now()
  private lastError: string | null = null
  private attempts = 0
  private lastReportAt: number | null = null
  /** Failures since the last successful login: sets the backoff. */
  private failures = 0
  private client: MqttClient | null = null
  private retryTimer: NodeJS.Timeout | null = null
  private closed = false
  private presence: Promise<void> = Promise.resolve()

  constructor(
    readonly devId: string,
    private readonly address: PrinterAddress,
    private readonly hooks: LinkHooks,
    private readonly timings: LinkTimings,
    private readonly log: FastifyBaseLogger,
  ) {
    this.start()
  }

  get status(): LinkStatus {
    return { state: this.state, since: this.since, lastError: this.lastError, reconnects: Math.max(0, this.attempts - 1), lastReportAt: this.lastReportAt }
  }

  get connected(): boolean {
    return this.state === 'connected'
  }

  /** Sends a request to the printer; false when not connected. */
  publish(payload: Buffer, qos: 0 | 1): boolean {
    const client = this.client
    if (!client?.connected) return false
    client.publish(requestTopic(this.devId), payload, { qos }, (err) => {
      if (err) this.log.warn({ devId: this.devId, err: err.message }, 'bridge: could not send a request to the printer')
    })
    return true
  }

  /** Disconnects and stops retrying; a connected printer is marked offline first. */
  async close(): Promise<void> {
    if (this.closed) return this.presence
    this.closed = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    const client = this.client
    this.client = null
    if (client) {
      if (this.state === 'connected') this.setOnline(false)
      await client.endAsync(true).catch(() => {})
    }
    this.enter('off')
    await this.presence
  }

  private enter(state: LinkState): void {
    if (this.state !== state) this.since = Date.now()
    this.state = state
  }

  /** Presence updates are written in order, and `close` waits for the last one. */
  private setOnline(online: boolean): void {
    this.presence = this.presence.then(() => this.hooks.online(online)).catch((err: unknown) => {
      this.log.warn({ devId: this.devId, err }, 'bridge: could not record the printer’s presence')
    })
  }

  private start(): void {
    this.retryTimer = null
    this.attempt().catch((err: unknown) => {
      this.log.error({ devId: this.devId, err }, 'bridge: connecting to the printer failed unexpectedly')
      this.retry('internal error while connecting')
    })
  }

  private async attempt(): Promise<void> {
    if (this.closed) return
    this.attempts++
    this.enter('connecting')
    const { host, mqttPort } = this.address
    let socket: tls.TLSSocket
    try {
      socket = await openTls(host, mqttPort, this.timings.connectTimeoutMs)
    } catch (err) {
      return this.retry(`cannot reach ${host}:${mqttPort}: ${(err as Error).message}`)
    }
    // Whatever goes wrong from here on surfaces as a close.
    socket.on('error', () => {})
    if (this.closed) return void socket.destroy()
    const seen = socket.getPeerCertificate().fingerprint256 ?? ''
    let pinned = this.address.pinnedSha256
    if (pinned === null && seen !== '') {
      try {
        pinned = await this.hooks.pin(seen)
      } catch (err) {
        socket.destroy()
        this.log.error({ devId: this.devId, err }, 'bridge: could not pin the printer’s certificate')
        return this.retry('could not store the printer’s certificate')
      }
      this.address.pinnedSha256 = pinned
    }
    if (this.closed) return void socket.destroy()
    if (seen === '' || pinned !== seen) {
      socket.destroy()
      return this.retry(
        `the printer presented a certificate (SHA-256 ${seen || 'none'}) other than the one pinned for it (${pinned ?? 'none'}); ` +
          'if the printer really changed, set its lan_ip again to trust the new one',
      )
    }
    this.login(socket)
  }

  private login(socket: tls.TLSSocket): void {
    const client = new MqttClient(() => socket, {
      username: LAN_USER,
      password: this.address.accessCode,
      clientId: `bambu-cloud-bridge-${randomBytes(6).toString('hex')}`,
      protocolVersion: 4,
      clean: true,
      keepalive: this.timings.keepaliveSeconds,
      connectTimeout: this.timings.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
    })
    this.client = client
    let loggedIn = false
    let error: string | null = null
    const topic = reportTopic(this.devId)
    client.on('connect', () => {
      loggedIn = true
      this.failures = 0
      this.lastError = null
      this.enter('connected')
      this.log.info({ devId: this.devId, host: this.address.host }, 'bridge: connected to the printer')
      this.setOnline(true)
      client.subscribe(topic, { qos: 0 }, (err) => {
        if (err) return void client.end(true)
        // P1 and A1 printers report only what changes: ask for everything once.
        client.publish(requestTopic(this.devId), JSON.stringify(pushallRequest()), { qos: 0 })
      })
    })
    client.on('message', (received, payload) => {
      if (received !== topic) return
      this.lastReportAt = Date.now()
      this.hooks.report(payload)
    })
    client.on('error', (err: Error & { code?: unknown }) => {
      error = typeof err.code === 'number' && REFUSED_LOGIN.has(err.code) ? 'the printer refused the access code' : err.message
    })
    client.once('close', () => {
      client.end(true)
      if (this.client !== client) return
      this.client = null
      if (loggedIn) this.setOnline(false)
      this.retry(error ?? (loggedIn ? 'the printer closed the connection' : 'the printer closed the connection during login'))
    })
  }

  private retry(reason: string): void {
    if (this.closed) return
    if (reason !== this.lastError) this.log.warn({ devId: this.devId, host: this.address.host, reason }, 'bridge: printer connection failed; retrying')
    this.lastError = reason
    this.failures++
    const ceiling = Math.min(this.timings.retryMaxMs, this.timings.retryMinMs * 2 ** Math.min(this.failures - 1, 30))
    // Half fixed, half random: printers that dropped together do not all come back at once.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2)
    this.enter('backoff')
    this.retryTimer = setTimeout(() => this.start(), delay)
    this.retryTimer.unref()
  }
}

/** A TLS connection that accepts any certificate: the caller checks it against the pin. */
function openTls(host: string, port: number, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false })
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    socket.once('error', reject)
    socket.once('secureConnect', () => {
      socket.setTimeout(0)
      socket.off('error', reject)
      resolve(socket)
    })
  })
}
