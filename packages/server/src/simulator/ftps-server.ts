/**
 * A small implicit-TLS FTP server, the way a printer offers its storage on port 990:
 * TLS from the first byte, one user, passive data connections that are TLS too. Slicers
 * and the LAN side upload a 3MF here, then ask the printer to print `ftp:///<name>`.
 *
 * Data listeners share the control listener's session-ticket keys, so a client that
 * resumes its control connection's TLS session on the data connection (as basic-ftp and
 * FileZilla do, and as some servers demand) gets a resumed session rather than a new one.
 *
 * @example
 * const ftps = await FtpsServer.start({ root, user: 'bblp', password: accessCode, certificate })
 * ftps.on('stored', (file) => console.log(file.path, file.md5))
 */
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { AddressInfo } from 'node:net'
import tls from 'node:tls'
import type { Certificate } from '../lib/certificate.ts'
import { FtpSession } from './ftps-session.ts'

export interface FtpsServerOptions {
  /** The directory clients see as `/`. */
  root: string
  user: string
  password: string
  certificate: Certificate
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0: any free port. */
  port?: number
  /** Uploads beyond this are refused with 552. Default 512 MiB. */
  maxFileBytes?: number
  /** An idle control connection is closed after this. Default five minutes. */
  idleTimeoutMs?: number
}

/** A file a client finished uploading. */
export interface StoredFile {
  /** As the client sees it, from the root: `/name.3mf`, `/cache/name.3mf`. */
  path: string
  size: number
  /** Lower-case hex, computed while the bytes arrived. */
  md5: string
}

export interface FtpsServerEvents {
  stored: [file: StoredFile]
  deleted: [path: string]
}

/** What a control session needs from its server. */
export interface FtpsSettings {
  root: string
  user: string
  password: string
  maxFileBytes: number
  idleTimeoutMs: number
  openPassive(localAddress: string, remoteAddress: string): Promise<PassiveChannel>
  stored(file: StoredFile): void
  deleted(path: string): void
}

const MiB = 1024 * 1024
/** How long a passive listener waits for its one data connection. */
const DATA_CONNECT_TIMEOUT_MS = 30_000

export class FtpsServer extends EventEmitter<FtpsServerEvents> {
  readonly host: string
  private readonly sessions = new Set<FtpSession>()
  private readonly tlsOptions: tls.TlsOptions

  private constructor(
    private readonly server: tls.Server,
    options: FtpsServerOptions,
    tlsOptions: tls.TlsOptions,
  ) {
    super()
    this.host = options.host ?? '127.0.0.1'
    this.tlsOptions = tlsOptions
  }

  /** Listens and resolves once bound. */
  static async start(options: FtpsServerOptions): Promise<FtpsServer> {
    const tlsOptions: tls.TlsOptions = { key: options.certificate.key, cert: options.certificate.cert, ticketKeys: randomBytes(48) }
    const server = tls.createServer(tlsOptions)
    const ftps = new FtpsServer(server, options, tlsOptions)
    const settings: FtpsSettings = {
      root: options.root,
      user: options.user,
      password: options.password,
      maxFileBytes: options.maxFileBytes ?? 512 * MiB,
      idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
      openPassive: (local, remote) => PassiveChannel.open(ftps.tlsOptions, local, remote),
      stored: (file) => ftps.emit('stored', file),
      deleted: (path) => ftps.emit('deleted', path),
    }
    server.on('secureConnection', (socket) => {
      const session = new FtpSession(socket, settings)
      ftps.sessions.add(session)
      socket.once('close', () => ftps.sessions.delete(session))
    })
    // A failed handshake concerns that client only.
    server.on('tlsClientError', () => {})
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, ftps.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    return ftps
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  /** Stops listening and ends every session, transfers included. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const session of this.sessions) session.destroy()
    await closed
  }
}

/**
 * One passive-mode listener: on an ephemeral port of the control connection's local
 * address, it accepts one TLS connection from the control connection's peer and closes.
 */
export class PassiveChannel {
  private socket: tls.TLSSocket | null = null
  private readonly connected: Promise<tls.TLSSocket>

  private constructor(
    private readonly server: tls.Server,
    remoteAddress: string,
  ) {
    this.connected = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('no data connection'))
        this.close()
      }, DATA_CONNECT_TIMEOUT_MS)
      timer.unref()
      server.on('secureConnection', (socket) => {
        // Only the peer that asked may connect, and only once (no port stealing).
        if (this.socket || socket.remoteAddress !== remoteAddress) {
          socket.destroy()
          return
        }
        clearTimeout(timer)
        this.socket = socket
        server.close()
        resolve(socket)
      })
      server.once('close', () => {
        clearTimeout(timer)
        if (!this.socket) reject(new Error('data listener closed'))
      })
    })
    // Rejections are seen by whoever awaits `accepted()`; none may go unhandled meanwhile.
    this.connected.catch(() => {})
    server.on('tlsClientError', () => {})
  }

  static async open(tlsOptions: tls.TlsOptions, localAddress: string, remoteAddress: string): Promise<PassiveChannel> {
    const server = tls.createServer(tlsOptions)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, localAddress, () => {
        server.off('error', reject)
        resolve()
      })
    })
    return new PassiveChannel(server, remoteAddress)
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  /** The data connection, once its TLS handshake is done. */
  accepted(): Promise<tls.TLSSocket> {
    return this.connected
  }

  close(): void {
    if (this.server.listening) this.server.close()
    this.socket?.destroy()
  }
}
