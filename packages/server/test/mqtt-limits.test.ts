import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'
import { addDevice, startTestApp } from './helpers/app.ts'
import { createTestDatabase } from './helpers/database.ts'
import { connect, eventually, printReport, startBroker } from './helpers/mqtt.ts'
import { freePort } from './helpers/ports.ts'
import { startServer } from './helpers/process.ts'

/** A PUBLISH fixed header announcing 256 MiB less one byte: the largest length MQTT allows. */
const HUGE_HEADER = Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f])
/** CONNECT's own fixed header with the same length, for a bomb sent before logging in. */
const HUGE_CONNECT = Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f])

type Opened = net.Socket | tls.TLSSocket

function open(port: number, secure: boolean): Promise<Opened> {
  return new Promise((resolve, reject) => {
    // The attacker's side: it checks no certificate.
    const socket = secure ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }) : net.connect(port, '127.0.0.1')
    // Resets are how the server ends these connections.
    socket.on('error', () => {})
    socket.once(secure ? 'secureConnect' : 'connect', () => resolve(socket))
    socket.once('close', () => reject(new Error('closed before connecting')))
  })
}

function closedPromise(socket: Opened): Promise<void> {
  return socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()))
}

/**
 * Sends a huge fixed header, then zeros (respecting backpressure) until the server closes
 * the connection or `limit` bytes are out. Returns the zeros sent and whether the server closed it.
 */
async function bomb(socket: Opened, header: Buffer, limit: number): Promise<{ sent: number; closedByServer: boolean }> {
  let closed = false
  const done = closedPromise(socket).then(() => (closed = true))
  const zeros = Buffer.alloc(64 * 1024)
  socket.write(header)
  let sent = 0
  while (!closed && sent < limit) {
    const flushed = socket.write(zeros)
    sent += zeros.length
    if (!flushed) await Promise.race([new Promise((r) => socket.once('drain', r)), done])
  }
  const closedByServer = closed
  socket.destroy()
  await done
  return { sent, closedByServer }
}

/** The server process's resident and peak resident memory, bytes (Linux). */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024
  return { rss: kib('VmRSS'), peak: kib('VmHWM') }
}

const MIB = 1024 * 1024

test('packet bombs before CONNECT, over TLS and plain TCP, are closed at their header: memory stays put, HTTP keeps answering', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  const [tlsPort, plainPort] = [await freePort(), await freePort()]
  const server = await startServer({ DATA_DIR: db.dataDir, DATABASE_URL: db.url, ADMIN_TOKEN: 'limits-admin-token-0123456789', MQTT_TLS_PORT: String(tlsPort), MQTT_PORT: String(plainPort) })
  t.after(() => server.stop('SIGKILL'))
  // The broker starts just after HTTP.
  await eventually(() => server.stdout().includes('MQTT broker listening'), 30_000)
  const healthy = async () => {
    const res = await fetch(server.url('/healthz'))
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { status: 'ok' })
  }
  await healthy()
  const before = memoryOf(server.child.pid!)

  // 48 MiB each: an unguarded broker would hold 288 MiB of them at once.
  const perConnection = 48 * MIB
  const sockets = await Promise.all([true, true, true, false, false, false].map((secure) => open(secure ? tlsPort : plainPort, secure)))
  const bombs = Promise.all(sockets.map((socket) => bomb(socket, HUGE_CONNECT, perConnection)))
  await healthy()
  const results = await bombs
  await healthy()

  for (const { sent, closedByServer } of results) {
    assert.ok(closedByServer, 'the server closed the connection')
    assert.ok(sent < perConnection, `closed after ${sent} bytes`)
  }
  const after = memoryOf(server.child.pid!)
  const grown = after.peak - Math.max(before.peak, before.rss)
  t.diagnostic(`RSS ${Math.round(before.rss / MIB)} MiB before (peak ${Math.round(before.peak / MIB)}), ${Math.round(after.rss / MIB)} MiB after (peak ${Math.round(after.peak / MIB)})`)
  assert.ok(grown < 96 * MIB, `peak RSS grew by ${Math.round(grown / MIB)} MiB (from ${Math.round(before.rss / MIB)} MiB)`)
})

test('a packet over MQTT_MAX_PACKET ends that connection; a smaller one passes and other clients carry on', async (t) => {
  const s = await startTestApp(t, { MQTT_MAX_PACKET: '65536' })
  const broker = await startBroker(s)
  const { uid } = await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  await addDevice(s, 'owner@example.com', 'DEV2', { dev_access_code: '87654321' })
  const user = await connect(broker, `u_${uid}`, (await s.login('owner@example.com')).accessToken)
  await user.client.subscribeAsync('device/+/report')
  const big = await connect(broker, 'DEV1', '12345678')
  const other = await connect(broker, 'DEV2', '87654321', { plain: true })

  const padding = 'x'.repeat(60_000)
  await big.client.publishAsync('device/DEV1/report', printReport({ padding }), { qos: 1 })
  await user.receive((m) => m.topic === 'device/DEV1/report' && m.text.includes(padding))

  big.client.publish('device/DEV1/report', printReport({ padding: 'x'.repeat(70_000) }))
  await big.closed
  await other.client.publishAsync('device/DEV2/report', printReport({ mc_percent: 7 }), { qos: 1 })
  await user.receive((m) => m.topic === 'device/DEV2/report' && m.text.includes('"mc_percent":7'))
  assert.equal(user.received.filter((m) => m.text.includes('x'.repeat(70_000))).length, 0)

  // A raw header announcing too much after login is closed before its body is read.
  const raw = await open(broker.plainPort!, false)
  const rawClosed = closedPromise(raw)
  raw.write(connectPacket('DEV2', '87654321'))
  await new Promise((resolve) => raw.once('data', resolve))
  const sent = await bomb(raw, HUGE_HEADER, 48 * MIB)
  await rawClosed
  assert.ok(sent.closedByServer && sent.sent < 48 * MIB)
})

test('before CONNECT a connection may send MQTT_PRE_CONNECT_BYTES in all: a longer CONNECT is closed unanswered', async (t) => {
  const s = await startTestApp(t, { MQTT_PRE_CONNECT_BYTES: '4096' })
  const broker = await startBroker(s)
  await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })

  const long = await open(broker.plainPort!, false)
  const answers: Buffer[] = []
  long.on('data', (chunk: Buffer) => answers.push(chunk))
  const closed = closedPromise(long)
  long.write(connectPacket('DEV1', 'p'.repeat(5000)))
  await closed
  assert.deepEqual(answers, [], 'no CONNACK')

  // One that fits is answered as usual (here: refused, bad password)...
  await assert.rejects(connect(broker, 'DEV1', 'p'.repeat(3000)), (err: Error & { code?: number }) => err.code === 4)
  // ...and after login the packet limit is MQTT_MAX_PACKET, not this one.
  const printer = await connect(broker, 'DEV1', '12345678')
  await printer.client.publishAsync('device/DEV1/report', printReport({ padding: 'x'.repeat(20_000) }), { qos: 1 })
  assert.equal(printer.client.connected, true)
})

test('a connection that sends nothing is closed after MQTT_CONNECT_TIMEOUT, over TLS too; a logged-in one stays', async (t) => {
  const s = await startTestApp(t, { MQTT_CONNECT_TIMEOUT: '1' })
  const broker = await startBroker(s)
  await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  const printer = await connect(broker, 'DEV1', '12345678')

  const idle = [await open(broker.plainPort!, false), await open(broker.tlsPort!, true), await open(broker.tlsPort!, false)]
  await Promise.all(idle.map(closedPromise))

  // Well past the timeout, the session that logged in is still there.
  await printer.roundTrip()
  assert.equal(printer.client.connected, true)
})

test('connections waiting to log in are limited per address (MQTT_UNAUTHENTICATED_PER_ADDRESS); logged-in ones do not count', async (t) => {
  const s = await startTestApp(t, { MQTT_UNAUTHENTICATED_PER_ADDRESS: '2', MQTT_CONNECT_TIMEOUT: '600' })
  const broker = await startBroker(s)
  await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  const refused = (err: Error) => err instanceof Error

  const first = await open(broker.plainPort!, false)
  const second = await open(broker.tlsPort!, false)
  t.after(() => {
    first.destroy()
    second.destroy()
  })
  // A third is closed at once, whichever listener it uses, even a real client.
  await closedPromise(await open(broker.plainPort!, false))
  await assert.rejects(connect(broker, 'DEV1', '12345678'), refused)

  // One of the two leaves: a printer gets in, and once logged in it no longer counts.
  const firstClosed = closedPromise(first)
  first.destroy()
  await firstClosed
  const printer = await eventually(() => connect(broker, 'DEV1', '12345678').catch(() => undefined))
  const third = await open(broker.plainPort!, false)
  t.after(() => third.destroy())
  await closedPromise(await open(broker.tlsPort!, false))
  assert.equal(second.destroyed || third.destroyed, false)
  await printer.roundTrip()
  assert.equal(printer.client.connected, true)
})

/** A CONNECT (MQTT 3.1.1, clean session) with a user name and password, encoded by hand. */
function connectPacket(username: string, password: string): Buffer {
  const field = (value: string) => {
    const bytes = Buffer.from(value, 'utf8')
    const length = Buffer.alloc(2)
    length.writeUInt16BE(bytes.length)
    return Buffer.concat([length, bytes])
  }
  const body = Buffer.concat([field('MQTT'), Buffer.from([4, 0xc2, 0, 60]), field('raw'), field(username), field(password)])
  const lengthBytes: number[] = []
  let n = body.length
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    lengthBytes.push(byte)
  } while (n > 0)
  return Buffer.concat([Buffer.from([0x10, ...lengthBytes]), body])
}
