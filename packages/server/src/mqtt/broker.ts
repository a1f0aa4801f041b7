/**
 * The cloud MQTT broker, inside the server process: aedes behind a TLS listener (and, if
 * asked for, a plain TCP one). Users read their printers' reports and send them requests;
 * printers send reports and read requests (the rules are in access.ts). A report reaches
 * subscribers at once and the device-state service a moment later (report-ingest.ts).
 *
 * @example
 *   const broker = await startMqttBroker({ services, config, log, ports: { tls: 0 } })
 *   broker.publishReport('01S00C123456789', Buffer.from('{"print":{"gcode_state":"RUNNING"}}'))
 *   await broker.close()
 */
import fs from 'node:fs/promises'
import net from 'node:net'
import tls from 'node:tls'
import { Aedes, type AedesPublishPacket, type AuthenticateError, type AuthErrorCode, type Client, type PublishPacket } from 'aedes'
import type { FastifyBaseLogger } from 'fastify'
import { parseDeviceTopic, reportTopic, requestTopic } from '@bambu-cloud/protocol'
import type { Config } from '../config.ts'
import { loadOrCreateCertificate, type Certificate } from '../lib/certificate.ts'
import { ApiError } from '../errors.ts'
import { constantTimeEqual } from '../lib/secrets.ts'
import type { Bucket } from '../services/login-guard.ts'
import type { Services } from '../services/index.ts'
import { ConnectionGate, PacketSizeGuard } from './connection-guard.ts'
import { credentialsOf, forwardAccess, MAX_PAYLOAD_BYTES, publishAccess, subscribeAccess, type Access, type Credentials, type Session } from './access.ts'
import { DeviceOwners } from './owners.ts'
import { CloudPrintDelivery, type DeliveryTimings } from './print-delivery.ts'
import { connectionEvent, PrinterConnections } from './printer-connections.ts'
import { ReportIngest, type IngestCounts } from './report-ingest.ts'
import { SessionRegistry } from './sessions.ts'

export interface MqttBrokerOptions {
  services: Services
  config: Config
  log: FastifyBaseLogger
  /** Overrides the configured ports: a number (0: any free one) or null for off. */
  ports?: { tls?: number | null; plain?: number | null }
  /** Overrides intervals, milliseconds (tests shorten them). */
  timings?: { flushEvery?: number; revalidateEvery?: number; ownersRefreshEvery?: number; delivery?: Partial<DeliveryTimings> }
}

/** Called with each request published for a printer, whoever sent it (a user, or server code). */
export type RequestListener = (devId: string, payload: Buffer) => void

export interface MqttBroker {
  /** The bound ports; null for a listener that is off. */
  readonly tlsPort: number | null
  readonly plainPort: number | null
  /** The TLS listener's certificate (PEM), for clients that pin it; null without TLS. */
  readonly certificate: string | null
  /** Delivers a printer's report to its subscribers and records it, as if the printer had published it. */
  publishReport(devId: string, payload: Buffer): void
  /** Delivers a request to a printer's session (and to request listeners). */
  publishRequest(devId: string, payload: Buffer): void
  /** Hears every request for every printer until the returned function is called. */
  onRequest(listener: RequestListener): () => void
  stats(): MqttStats
  /** Stops listening, ends every session, and writes the reports still queued. */
  close(): Promise<void>
}

export interface MqttStats {
  sessions: number
  reports: IngestCounts
}

const REFUSED = 'bad user name or password'

function refusal(returnCode: 3 | 4 | 5): AuthenticateError {
  const message = returnCode === 4 ? REFUSED : returnCode === 5 ? 'not authorized' : 'server unavailable'
  return Object.assign(new Error(message), { returnCode: returnCode as AuthErrorCode })
}

function bytes(payload: string | Buffer): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
}

/** Starts the broker and its listeners; resolves once they accept connections. */
export async function startMqttBroker(options: MqttBrokerOptions): Promise<MqttBroker> {
  const { services, config, log } = options
  const tlsPort = options.ports?.tls !== undefined ? options.ports.tls : config.mqtt.tlsPort
  const plainPort = options.ports?.plain !== undefined ? options.ports.plain : config.mqtt.plainPort
  const certificate = tlsPort === null ? null : await certificateFor(config)

  const owners = new DeviceOwners(services.devices, log, options.timings?.ownersRefreshEvery)
  const registry = new SessionRegistry(services.tokens, services.devices, services.deviceState, log, options.timings?.revalidateEvery)
  const ingest = new ReportIngest(services.deviceState, log, options.timings?.flushEvery)
  const requestListeners = new Set<RequestListener>()
  const connections = new PrinterConnections(log)
  const delivery = new CloudPrintDelivery(
    services,
    { isListening: (devId) => connections.isListening(devId), publish: (devId, payload) => publish(requestTopic(devId), payload, 1) },
    {
      graceMs: config.printDelivery.graceSeconds * 1000,
      timeoutMs: config.printDelivery.timeoutSeconds * 1000,
      ...options.timings?.delivery,
    },
    log,
  )
  /** Payloads the broker itself publishes on report topics (connection events): not printers' reports. */
  const brokerEvents = new WeakSet<Buffer>()
  /** Owners' requests not passed on to the printer (a second `project_file` for a task). */
  const withheld = new WeakSet<Buffer>()
  const stopConnectionEvents = connections.changed.on(({ devId, connected }) => {
    const payload = connectionEvent(connected)
    brokerEvents.add(payload)
    publish(reportTopic(devId), payload)
  })
  connections.listening.on((devId) => delivery.printerListening(devId))
  /** Sessions between a successful CONNECT check and the client's registration. */
  const authenticated = new WeakMap<Client, Session>()

  /**
   * Failed logins are counted per user name and per address, with the HTTP login's limits:
   * an access code has only eight digits, and the broker must not be a way to guess them.
   */
  function failureBuckets(username: string, address: string): Bucket[] {
    const limits = config.rateLimits
    return [
      { key: `mqtt:name:${username}`, limit: limits.failuresPerAccount },
      { key: `mqtt:addr:${address}`, limit: limits.failuresPerAddress },
    ]
  }

  /** The session for a login, null when refused; throws when the limits are reached. */
  async function login(credentials: Credentials, username: string, address: string): Promise<Session | null> {
    const attempt = await services.loginGuard.claim(failureBuckets(username, address))
    const session = await sessionFor(credentials)
    if (session) await attempt.giveBack()
    return session
  }

  async function sessionFor(credentials: Credentials): Promise<Session | null> {
    if (credentials.kind === 'user') {
      const principal = await services.tokens.authenticate(credentials.accessToken)
      if (principal?.uid !== credentials.uid) return null
      return { kind: 'user', uid: principal.uid, loginId: principal.loginId, accessToken: credentials.accessToken, expiresInMs: principal.expiresInMs }
    }
    const device = await services.devices.get(credentials.devId)
    if (!device || !constantTimeEqual(device.dev_access_code, credentials.accessCode)) return null
    return { kind: 'device', devId: device.dev_id, accessCode: credentials.accessCode }
  }

  /** Settles an access decision, reading ownership when the rule depends on it. */
  function decide(session: Session, access: Access, then: (allowed: boolean) => void): void {
    if (access === 'allow' || access === 'deny') return then(access === 'allow')
    owners.lookup(access.ownedDevice).then(
      (owner) => then(session.kind === 'user' && owner === session.uid),
      (err: unknown) => {
        log.warn({ err }, 'mqtt: could not check device ownership')
        then(false)
      },
    )
  }

  const aedes = await Aedes.createBroker({
    // Reports for a thousand printers may be in flight at once.
    concurrency: 1000,
    // Client ids are namespaced below, so they may be longer than MQTT 3.1's 23 characters.
    maxClientsIdLength: 512,
    drainTimeout: 10_000,
    connectTimeout: config.mqtt.connectTimeout * 1000,

    preConnect(_client, packet, callback) {
      // No session outlives its connection: the in-memory store would otherwise queue
      // reports for clients that never come back.
      packet.clean = true
      if (packet.will) packet.will.retain = false
      // Each account has its own client ids: one user cannot take over another's session by naming its id.
      if (packet.clientId) packet.clientId = JSON.stringify([packet.username ?? '', packet.clientId])
      callback(null, true)
    },

    authenticate(client, username, password, callback) {
      const credentials = credentialsOf(username, password)
      const who = String(username ?? '').slice(0, 64)
      if (!credentials) {
        log.info({ username: who }, 'mqtt: connection refused')
        return callback(refusal(4), null)
      }
      const address = (client.conn as { remoteAddress?: string }).remoteAddress ?? 'unknown'
      login(credentials, who, address).then(
        (session) => {
          if (!session) {
            log.info({ username: who }, 'mqtt: connection refused')
            return callback(refusal(4), null)
          }
          authenticated.set(client, session)
          callback(null, true)
        },
        (err: unknown) => {
          if (err instanceof ApiError && err.kind === 'tooManyRequests') {
            log.warn({ username: who, address }, 'mqtt: too many failed logins; refused')
            return callback(refusal(5), null)
          }
          log.error({ err, username: who }, 'mqtt: could not check credentials')
          callback(refusal(3), null)
        },
      )
    },

    authorizeSubscribe(client, subscription, callback) {
      const session = authenticated.get(client)
      if (!session) return callback(null, null)
      decide(session, subscribeAccess(session, subscription.topic), (allowed) => {
        if (!allowed) log.debug({ topic: subscription.topic }, 'mqtt: subscription refused')
        // A null subscription is a refusal: SUBACK carries 0x80 for it.
        callback(null, allowed ? subscription : null)
      })
    },

    authorizePublish(client, packet, callback) {
      // A session ended for a revoked or expired login leaves no will behind (nor anything else).
      const session = client && !registry.ended(client) ? authenticated.get(client) : undefined
      if (!session || bytes(packet.payload).length > MAX_PAYLOAD_BYTES) return callback(new Error('not authorized'))
      // Retained requests would replay old commands to a printer when it comes back.
      packet.retain = false
      decide(session, publishAccess(session, packet.topic), (allowed) => {
        // A user may only publish requests; each passes the print delivery, which may make a
        // project_file printable or withhold a second one for the same task.
        if (allowed && session.kind === 'user') {
          const devId = parseDeviceTopic(packet.topic)!.devId
          return void delivery.ownerRequest(session.uid, devId, bytes(packet.payload)).then(
            (payload) => {
              // A copy of its own, so marking it withheld marks only this message.
              if (payload === null) withheld.add((packet.payload = Buffer.from(bytes(packet.payload))))
              else packet.payload = payload
              callback(null)
            },
            (err: unknown) => {
              log.error({ err }, 'mqtt: could not check a request for a print')
              callback(null)
            },
          )
        }
        if (allowed) return callback(null)
        log.info({ topic: packet.topic.slice(0, 200) }, 'mqtt: publish refused; disconnecting')
        // MQTT 3.1.1 has no way to refuse one message: aedes ends the connection.
        callback(new Error('not authorized'))
      })
    },

    authorizeForward(client, packet): AedesPublishPacket | null {
      const session = authenticated.get(client)
      if (!session || withheld.has(packet.payload as Buffer)) return null
      const access = forwardAccess(session, packet.topic)
      if (access === 'allow' || access === 'deny') return access === 'allow' ? packet : null
      // Delivery never waits on the database: ownership comes from memory...
      const owner = owners.cached(access.ownedDevice)
      if (owner !== undefined) return session.kind === 'user' && owner === session.uid ? packet : null
      // ...and when it is not there yet, this message follows once it is (never before).
      decide(session, access, (allowed) => {
        if (!allowed || client.closed) return
        // aedes calls the callback unconditionally, so one must be given.
        client.publish({ cmd: 'publish', topic: packet.topic, payload: packet.payload, qos: packet.qos, dup: false, retain: false }, () => {})
      })
      return null
    },

    published(packet, _client, callback) {
      const topic = parseDeviceTopic(packet.topic)
      if (topic?.kind === 'report') {
        if (!brokerEvents.has(packet.payload as Buffer)) ingest.add(topic.devId, bytes(packet.payload))
      } else if (topic?.kind === 'request' && !withheld.has(packet.payload as Buffer)) {
        for (const listener of requestListeners) {
          try {
            listener(topic.devId, bytes(packet.payload))
          } catch (err) {
            log.error({ err, devId: topic.devId }, 'mqtt: a request listener failed')
          }
        }
      }
      callback(null)
    },
  })

  aedes.on('client', (client) => {
    const session = authenticated.get(client)
    if (!session) return
    if (client.conn instanceof PacketSizeGuard) {
      client.conn.accepted()
      gate.loggedIn(client.conn.socket)
    }
    registry.add(client, session)
    if (session.kind === 'device') connections.add(client, session.devId)
    log.info(session.kind === 'user' ? { uid: session.uid } : { devId: session.devId }, 'mqtt: connected')
  })
  aedes.on('clientDisconnect', (client) => {
    const session = authenticated.get(client)
    registry.remove(client)
    connections.remove(client)
    if (session) log.debug(session.kind === 'user' ? { uid: session.uid } : { devId: session.devId }, 'mqtt: disconnected')
  })
  aedes.on('subscribe', (subscriptions, client) => {
    const session = client && authenticated.get(client)
    if (session?.kind === 'device' && subscriptions.some((s) => s.topic === requestTopic(session.devId))) connections.subscribed(client)
  })
  aedes.on('keepaliveTimeout', (client) => {
    const session = authenticated.get(client)
    if (session?.kind === 'device') log.info({ devId: session.devId }, 'mqtt: keep-alive expired')
  })
  aedes.on('clientError', (_client, err) => log.debug({ err: err.message }, 'mqtt: client error'))
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'mqtt: connection error'))
  // Without a listener, an 'error' (its typings leave it out) would end the process.
  const events: NodeJS.EventEmitter = aedes
  events.on('error', (err: unknown) => log.error({ err }, 'mqtt: broker error'))

  const gate = new ConnectionGate(config.mqtt, log)
  const sockets = new Set<net.Socket>()
  const track = (socket: net.Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    gate.admit(socket)
  }
  const handle = (socket: net.Socket) => aedes.handle(new PacketSizeGuard(socket, config.mqtt, log))
  const servers: net.Server[] = []
  let boundTls: number | null = null
  let boundPlain: number | null = null
  try {
    if (tlsPort !== null && certificate) {
      const server = tlsServer(certificate, handle)
      server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'mqtt: TLS handshake failed'))
      servers.push(server)
      boundTls = await listen(server, tlsPort, config.mqtt.host, track, 'MQTT_TLS_PORT', log)
    }
    if (plainPort !== null) {
      const server = net.createServer(handle)
      servers.push(server)
      boundPlain = await listen(server, plainPort, config.mqtt.host, track, 'MQTT_PORT', log)
    }
  } catch (err) {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
    owners.close()
    delivery.close()
    await registry.close()
    await ingest.close()
    throw err
  }
  log.info({ tlsPort: boundTls, plainPort: boundPlain, host: config.mqtt.host }, 'MQTT broker listening')

  function publish(topic: string, payload: Buffer, qos: 0 | 1 = 0): void {
    const packet: PublishPacket = { cmd: 'publish', topic, payload, qos, dup: false, retain: false }
    aedes.publish(packet, (err) => {
      if (err) log.warn({ err, topic }, 'mqtt: could not publish')
    })
  }

  let closing: Promise<void> | undefined
  return {
    tlsPort: boundTls,
    plainPort: boundPlain,
    certificate: certificate?.cert ?? null,
    publishReport: (devId, payload) => publish(reportTopic(devId), payload),
    publishRequest: (devId, payload) => publish(requestTopic(devId), payload),
    onRequest(listener) {
      requestListeners.add(listener)
      return () => requestListeners.delete(listener)
    },
    stats: () => ({ sessions: registry.size, reports: { ...ingest.counts } }),
    close() {
      closing ??= (async () => {
        delivery.close()
        stopConnectionEvents()
        const stopped = Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
        await new Promise<void>((resolve) => aedes.close(() => resolve()))
        // Connections still in their TLS handshake are not aedes's yet.
        for (const socket of sockets) socket.destroy()
        await stopped
        owners.close()
        // Printers just disconnected are marked offline, and queued reports written, before the database closes.
        await registry.close()
        await ingest.close()
        log.info('MQTT broker closed')
      })()
      return closing
    },
  }
}

/**
 * MQTT_CERT/MQTT_KEY when given, else the self-signed pair created once in DATA_DIR, naming
 * localhost and PUBLIC_URL's host, so a client that trusts the file can check the name it
 * connects to.
 */
async function certificateFor(config: Config): Promise<Certificate> {
  const { certFile, keyFile } = config.mqtt
  if (!certFile || !keyFile) {
    const hosts = [...new Set(['localhost', '127.0.0.1', '::1', new URL(config.publicUrl).hostname.replace(/^\[|\]$/g, '')])]
    return loadOrCreateCertificate(config.dataDir, 'mqtt', 'bambu-cloud', hosts)
  }
  const read = (file: string, name: string) =>
    fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(`${name}: cannot read ${file} (${err.code ?? err.message})`)
    })
  return { cert: await read(certFile, 'MQTT_CERT'), key: await read(keyFile, 'MQTT_KEY') }
}

function tlsServer(certificate: Certificate, onSocket: (socket: tls.TLSSocket) => void): tls.Server {
  try {
    return tls.createServer({ cert: certificate.cert, key: certificate.key, handshakeTimeout: 10_000 }, onSocket)
  } catch (err) {
    throw new Error(`MQTT_CERT/MQTT_KEY: not a usable certificate and key (${(err as Error).message})`)
  }
}

/** Listens; resolves with the bound port. Errors after that are logged, not thrown. */
function listen(server: net.Server, port: number, host: string, track: (socket: net.Socket) => void, name: string, log: FastifyBaseLogger): Promise<number> {
  server.on('connection', track)
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(new Error(`${name} ${port}: ${err.code === 'EADDRINUSE' ? 'address in use' : err.message}`))
    server.once('error', fail)
    server.listen(port, host, () => {
      server.off('error', fail)
      server.on('error', (err) => log.error({ err }, 'mqtt: listener error'))
      resolve((server.address() as net.AddressInfo).port)
    })
  })
}
