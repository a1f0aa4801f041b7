/**
 * What a connection may cost before and after it has logged in. MQTT's parser buffers a
 * whole packet before anything looks at it, and a fixed header may announce 256 MiB, so
 * the size of each packet is read here, from its fixed header, before the broker sees a
 * byte of it: until the broker accepts the CONNECT a connection may send a few KB in all,
 * after that one packet may not exceed MQTT_MAX_PACKET. Connections still waiting for an
 * accepted CONNECT (TLS handshake included) are limited in time and per address.
 *
 * @example
 *   const gate = new ConnectionGate(config.mqtt, log)
 *   server.on('connection', (raw) => gate.admit(raw))
 *   const guard = new PacketSizeGuard(socket, config.mqtt, log)
 *   aedes.handle(guard)
 *   // once the broker has accepted the CONNECT:
 *   guard.accepted()
 *   gate.loggedIn(guard.socket)
 */
import { Duplex } from 'node:stream'
import type net from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import type { MqttConfig } from '../config.ts'

type Limits = Pick<MqttConfig, 'maxPacket' | 'preConnectBytes'>

/**
 * Connections that have not logged in yet, counted per address from the moment they
 * connect (a TLS one from before its handshake), each given MQTT_CONNECT_TIMEOUT.
 */
export class ConnectionGate {
  /** Connections waiting, per address. */
  private readonly waiting = new Map<string, number>()
  /** How each waiting connection stops waiting, by address and port (the TLS socket and the one under it share them). */
  private readonly pending = new Map<string, () => void>()

  constructor(
    private readonly limits: Pick<MqttConfig, 'connectTimeout' | 'unauthenticatedPerAddress'>,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Counts a new connection, or closes it when its address has too many waiting already. */
  admit(socket: net.Socket): void {
    const address = socket.remoteAddress
    if (address === undefined) return void socket.destroy()
    const count = this.waiting.get(address) ?? 0
    if (count >= this.limits.unauthenticatedPerAddress) {
      this.log.info({ address }, 'mqtt: too many connections waiting to log in from one address; closed')
      return void socket.destroy()
    }
    this.waiting.set(address, count + 1)
    const key = connectionKey(socket)
    const timer = setTimeout(() => {
      this.log.info({ address }, 'mqtt: no accepted CONNECT in time; closed')
      socket.destroy()
    }, this.limits.connectTimeout * 1000)
    timer.unref()
    const stopWaiting = () => {
      if (this.pending.get(key) !== stopWaiting) return
      this.pending.delete(key)
      clearTimeout(timer)
      const left = (this.waiting.get(address) ?? 1) - 1
      if (left > 0) this.waiting.set(address, left)
      else this.waiting.delete(address)
    }
    this.pending.set(key, stopWaiting)
    socket.once('close', stopWaiting)
  }

  /** The broker accepted this connection's CONNECT: it no longer counts as waiting. */
  loggedIn(socket: net.Socket): void {
    this.pending.get(connectionKey(socket))?.()
  }
}

function connectionKey(socket: net.Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`
}

/** Where in the MQTT byte stream the next byte falls. */
type Position = { at: 'type' } | { at: 'length'; value: number; multiplier: number; headerBytes: number } | { at: 'body'; left: number }

/**
 * The stage between a socket and the broker: passes bytes through untouched, and closes
 * the socket as soon as a packet's fixed header announces more than the connection may send.
 */
export class PacketSizeGuard extends Duplex {
  private position: Position = { at: 'type' }
  private loggedIn = false
  /** Bytes read before the CONNECT was accepted. */
  private received = 0

  constructor(
    readonly socket: net.Socket,
    private readonly limits: Limits,
    private readonly log: FastifyBaseLogger,
  ) {
    super({ allowHalfOpen: false })
    socket.on('data', (chunk: Buffer) => {
      if (!this.allows(chunk)) return
      if (!this.push(chunk)) socket.pause()
    })
    socket.on('end', () => this.push(null))
    socket.on('error', (err) => this.destroy(err))
    socket.on('close', () => this.destroy())
  }

  /** The client's address, as the socket has it (the broker's login limits read it). */
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress
  }

  /** The broker accepted the CONNECT: from now on each packet may be up to MQTT_MAX_PACKET. */
  accepted(): void {
    this.loggedIn = true
  }

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.socket.write(chunk)) callback()
    else this.socket.once('drain', () => callback())
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.socket.end(() => callback())
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.socket.destroy()
    callback(err)
  }

  /** Reads the fixed headers in a chunk; false (and the socket destroyed) when one asks too much. */
  private allows(chunk: Buffer): boolean {
    let i = 0
    while (i < chunk.length) {
      const position = this.position
      if (position.at === 'body') {
        const skipped = Math.min(position.left, chunk.length - i)
        i += skipped
        this.count(skipped)
        position.left -= skipped
        if (position.left === 0) this.position = { at: 'type' }
        continue
      }
      const byte = chunk[i++]!
      this.count(1)
      if (position.at === 'type') {
        this.position = { at: 'length', value: 0, multiplier: 1, headerBytes: 1 }
        continue
      }
      position.value += (byte & 0x7f) * position.multiplier
      position.multiplier *= 128
      position.headerBytes++
      if (byte & 0x80) {
        // At most four length bytes (MQTT 3.1.1, 2.2.3).
        if (position.headerBytes > 4) return this.refuse('malformed remaining length')
        continue
      }
      const size = position.headerBytes + position.value
      // Before login the whole conversation so far counts, this packet to its end included.
      if (this.loggedIn ? size > this.limits.maxPacket : this.received + position.value > this.limits.preConnectBytes) {
        return this.refuse(`a packet of ${size} bytes`)
      }
      this.position = position.value === 0 ? { at: 'type' } : { at: 'body', left: position.value }
    }
    return true
  }

  private count(bytes: number): void {
    if (!this.loggedIn) this.received += bytes
  }

  private refuse(reason: string): false {
    this.log.info({ address: this.socket.remoteAddress, reason, loggedIn: this.loggedIn }, 'mqtt: connection closed: packet too large')
    this.socket.destroy()
    return false
  }
}
