import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { addDevice, getJson, startTestApp, type TestApp } from './helpers/app.ts'
import { connect, eventually, printReport, startBroker } from './helpers/mqtt.ts'

async function owner(s: TestApp, account = 'owner@example.com') {
  const user = await s.createUser(account)
  const { accessToken } = await s.login(account)
  return { uid: user.uid, token: accessToken }
}

async function boundDevice(s: TestApp, token: string, devId: string) {
  const bind = await getJson(s, token, '/v1/iot-service/api/user/bind')
  return bind.devices.find((d: { dev_id: string }) => d.dev_id === devId)
}

test('a user receives its printer’s reports over TLS, and the HTTP API reflects them a moment later', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { uid, token } = await owner(s)
  const device = await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })

  const user = await connect(broker, `u_${uid}`, token)
  const [grant] = await user.client.subscribeAsync('device/DEV1/report')
  assert.equal(grant!.qos, 0)

  const printer = await connect(broker, 'DEV1', device.dev_access_code)
  const report = printReport({ gcode_state: 'RUNNING', subtask_name: 'Benchy', gcode_start_time: '1700000000', mc_percent: 42, mc_remaining_time: 17, task_id: '0' })
  await printer.client.publishAsync('device/DEV1/report', report)

  // The broker's own connection event comes first; then the report, as the printer sent it.
  await user.receive((m) => m.topic === 'device/DEV1/report' && m.text === '{"event":{"event":"client.connected"}}')
  const got = await user.receive((m) => m.topic === 'device/DEV1/report' && m.text !== '{"event":{"event":"client.connected"}}')
  assert.equal(got.text, report)

  const bound = await eventually(async () => {
    const d = await boundDevice(s, token, 'DEV1')
    return d.print_status === 'RUNNING' && d
  })
  assert.equal(bound.online, true)
  const print = await getJson(s, token, '/v1/iot-service/api/user/print')
  const live = print.devices.find((d: { dev_id: string }) => d.dev_id === 'DEV1')
  assert.equal(live.task_status, 'RUNNING')
  assert.equal(live.task_name, 'Benchy')
  assert.equal(live.progress, 42)
  assert.equal(live.prediction, 17 * 60)
  assert.equal(live.dev_online, true)
})

test('the plain TCP listener serves the same broker', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { uid, token } = await owner(s)
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  const user = await connect(broker, `u_${uid}`, token, { plain: true })
  await user.client.subscribeAsync('device/DEV1/report')
  const printer = await connect(broker, 'DEV1', '12345678', { plain: true })
  await printer.client.publishAsync('device/DEV1/report', printReport({ mc_percent: 5 }))
  await user.receive((m) => m.topic === 'device/DEV1/report')
})

test('a user’s request reaches the printer’s session and the server’s request listeners', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { uid, token } = await owner(s)
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  const heard: [string, string][] = []
  broker.onRequest((devId, payload) => heard.push([devId, payload.toString()]))

  const printer = await connect(broker, 'DEV1', '12345678')
  const [grant] = await printer.client.subscribeAsync('device/DEV1/request')
  assert.equal(grant!.qos, 0)
  const user = await connect(broker, `u_${uid}`, token)
  const request = JSON.stringify({ pushing: { sequence_id: '7', command: 'pushall' } })
  await user.client.publishAsync('device/DEV1/request', request)
  const got = await printer.receive((m) => m.topic === 'device/DEV1/request')
  assert.equal(got.text, request)
  await eventually(() => heard.length === 1)
  assert.deepEqual(heard, [['DEV1', request]])

  // Server code can send a printer a request too.
  broker.publishRequest('DEV1', Buffer.from('{"print":{"command":"pause","sequence_id":"8"}}'))
  await printer.receive((m) => m.text.includes('"pause"'))
})

test('publishReport delivers like a printer would and is recorded', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { uid, token } = await owner(s)
  await addDevice(s, 'owner@example.com', 'DEV1')
  const user = await connect(broker, `u_${uid}`, token)
  await user.client.subscribeAsync('device/DEV1/report')
  broker.publishReport('DEV1', Buffer.from(printReport({ gcode_state: 'PAUSE', subtask_name: 'Cube', gcode_start_time: '1700000000' })))
  await user.receive((m) => m.text.includes('PAUSE'))
  await eventually(async () => (await boundDevice(s, token, 'DEV1')).print_status === 'PAUSE')
})

test('online follows the printer’s connection, through a quick reconnect with the same client id', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { token } = await owner(s)
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  const online = async () => (await boundDevice(s, token, 'DEV1')).online as boolean
  assert.equal(await online(), false)

  const first = await connect(broker, 'DEV1', '12345678', { clientId: 'printer-DEV1' })
  await eventually(online)
  // The same client id again: the broker ends the first session in favour of the second.
  const second = await connect(broker, 'DEV1', '12345678', { clientId: 'printer-DEV1' })
  await first.closed
  // A report written after the takeover: by the time it shows, so would a stray "offline".
  await second.client.publishAsync('device/DEV1/report', printReport({ gcode_state: 'RUNNING', subtask_name: 'Again', gcode_start_time: '1700000000' }))
  await eventually(async () => (await boundDevice(s, token, 'DEV1')).print_status === 'RUNNING')
  assert.equal(await online(), true)
  assert.equal(broker.stats().sessions, 1)

  await second.end()
  await eventually(async () => !(await online()))
})

test('a printer that stops answering goes offline when its keep-alive runs out', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { token } = await owner(s)
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  // A raw connection that asks for a 1 s keep-alive, then never sends another packet.
  const socket = net.connect(broker.plainPort!, '127.0.0.1')
  t.after(() => socket.destroy())
  const closed = new Promise((resolve) => socket.once('close', resolve))
  const connack = new Promise<Buffer>((resolve) => socket.once('data', resolve))
  socket.write(connectPacket('silent-printer', 'DEV1', '12345678', 1))
  assert.deepEqual([...(await connack)], [0x20, 0x02, 0x00, 0x00])
  await eventually(async () => (await boundDevice(s, token, 'DEV1')).online)
  await eventually(async () => !(await boundDevice(s, token, 'DEV1')).online, 8000)
  await closed
})

/** An MQTT 3.1.1 CONNECT (clean session, user name and password), small enough for a one-byte length. */
function connectPacket(clientId: string, username: string, password: string, keepalive: number): Buffer {
  const field = (text: string) => {
    const bytes = Buffer.from(text, 'utf8')
    return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])
  }
  const body = Buffer.concat([field('MQTT'), Buffer.from([4, 0xc2, keepalive >> 8, keepalive & 0xff]), field(clientId), field(username), field(password)])
  return Buffer.concat([Buffer.from([0x10, body.length]), body])
}

test('a user’s session does not make anything online', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { uid, token } = await owner(s)
  await addDevice(s, 'owner@example.com', 'DEV1')
  const user = await connect(broker, `u_${uid}`, token)
  await user.client.subscribeAsync('device/DEV1/report')
  await eventually(() => broker.stats().sessions === 1)
  assert.equal((await boundDevice(s, token, 'DEV1')).online, false)
})

test('garbage on a report topic is counted and ignored; the server keeps serving', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { uid, token } = await owner(s)
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  const user = await connect(broker, `u_${uid}`, token)
  await user.client.subscribeAsync('device/DEV1/report')
  const printer = await connect(broker, 'DEV1', '12345678')
  for (const junk of [Buffer.from([0xff, 0x00, 0xfe]), Buffer.from('not json'), Buffer.from('[1,2]'), Buffer.from('null'), Buffer.alloc(0)]) {
    await printer.client.publishAsync('device/DEV1/report', junk)
  }
  await printer.client.publishAsync('device/DEV1/report', printReport({ gcode_state: 'RUNNING', subtask_name: 'After', gcode_start_time: '1700000000' }))
  await user.receive((m) => m.text.includes('After'))
  await eventually(async () => (await boundDevice(s, token, 'DEV1')).print_status === 'RUNNING')
  assert.deepEqual(broker.stats().reports, { accepted: 1, ignored: 5, dropped: 0 })
  const health = await s.request({ method: 'GET', url: '/healthz' })
  assert.equal(health.statusCode, 200)
})

test('closing the app writes queued reports and marks connected printers offline', async (t) => {
  const s = await startTestApp(t)
  // A flush interval longer than the test: only the close can write the report.
  const broker = await startBroker(s, { flushEvery: 3_600_000 })
  await owner(s)
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  const printer = await connect(broker, 'DEV1', '12345678')
  await printer.client.publishAsync('device/DEV1/report', printReport({ gcode_state: 'RUNNING', subtask_name: 'Late', gcode_start_time: '1700000000' }))
  await eventually(() => broker.stats().reports.accepted === 1)
  await broker.close()
  const row = await s.app.services.devices.get('DEV1')
  assert.equal(row!.print_status, 'RUNNING')
  assert.equal(row!.online, 0)
})
