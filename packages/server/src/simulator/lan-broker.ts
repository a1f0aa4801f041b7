/**
 * The MQTT broker a printer runs on its own network port: TLS with a self-signed
 * certificate, user `bblp` with the access code as password, nothing else accepted.
 * Clients may subscribe to anything (real printers allow `#`) and publish requests to
 * `device/<dev_id>/request`; the printer's reports are published into it directly.
 */
import type { AddressInfo, Socket } from 'node:net'
import tls from 'node:tls'
import { Aedes, type AuthenticateError } from 'aedes'
import { LAN_USER, requestTopic } from '@bambu-cloud/protocol'
import type { Certificate } from '../lib/certificate.ts'
import { constantTimeEqual } from '../lib/secrets.ts'

export interface LanBrokerOptions {
  devId: string
  accessCode: string
  certificate: Certificate
  host: string
  port: number
  /** Each request published by a client, as received. */
  onRequest(payload: Buffer): void
}

/** CONNACK return code 4 in MQTT 3.1.1. */
const BAD_USERNAME_OR_PASSWORD = 4

export class LanBroker {
  private readonly sockets = new Set<Socket>()

  private constructor(
    private readonly broker: Aedes,
    private readonly server: tls.Server,
  ) {}

  static async start(options: LanBrokerOptions): Promise<LanBroker> {
    const request = requestTopic(options.devId)
    const broker = await Aedes.createBroker({
      authenticate(_client, username, password, done) {
        if (username === LAN_USER && password !== undefined && constantTimeEqual(password.toString('utf8'), options.accessCode)) return done(null, true)
        const error = Object.assign(new Error('bad user name or password'), { returnCode: BAD_USERNAME_OR_PASSWORD }) as AuthenticateError
        done(error, false)
      },
      // Clients talk to the printer through its request topic; its report topic is its own.
      authorizePublish(_client, packet, done) {
        done(packet.topic === request ? null : new Error('clients publish only requests'))
      },
    })
    await new Promise<void>((resolve) => broker.subscribe(request, (packet, done) => {
      options.onRequest(Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload))
      done()
    }, resolve))
    const server = tls.createServer({ key: options.certificate.key, cert: options.certificate.cert }, (socket) => broker.handle(socket))
    const lan = new LanBroker(broker, server)
    server.on('connection', (socket: Socket) => {
      lan.sockets.add(socket)
      socket.once('close', () => lan.sockets.delete(socket))
    })
    server.on('tlsClientError', () => {})
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    return lan
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  /** Clients logged in now. */
  get clients(): number {
    return this.broker.connectedClients
  }

  publish(topic: string, payload: string): void {
    this.broker.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, () => {})
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    await new Promise<void>((resolve) => this.broker.close(() => resolve()))
    for (const socket of this.sockets) socket.destroy()
    await closed
  }
}
