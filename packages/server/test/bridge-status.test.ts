/**
 * A printer reached over its LAN broker: its reports reach the HTTP API and cloud MQTT
 * subscribers through one upstream connection, owners' requests reach the printer, and the
 * admin API shows the link. Taking the address away ends it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { reportTopic, requestTopic } from '@bambu-cloud/protocol'
import { connect, eventually } from './helpers/mqtt.ts'
import { adminDevice, boundDevice, bridgeTo, DEV_ID, fingerprintOf, livePrint, printerCertificate, startBridged, WAIT_MS } from './helpers/bridge.ts'

test('the printer’s reports reach user/bind, user/print and cloud subscribers through one connection', async (t) => {
  const b = await startBridged(t, { partialReports: true })
  const device = await eventually(async () => {
    const d = await boundDevice(b)
    return d.online && d
  }, WAIT_MS)
  assert.equal(device.print_status, 'IDLE')

  // The state came from the printer: its full report (pushall) is merged in.
  const print = await eventually(async () => JSON.parse((await b.s.app.services.devices.get(DEV_ID))!.state).print, WAIT_MS)
  assert.equal(print.gcode_state, 'IDLE')
  assert.equal(typeof print.nozzle_temper, 'number', 'a field only the full report carries')
  const live = await livePrint(b)
  assert.deepEqual([live.dev_online, live.task_status], [true, null])

  // Two cloud clients of the owner watch; the printer still sees one client: the bridge.
  const watchers = await Promise.all([1, 2].map(() => connect(b.broker, `u_${b.owner.uid}`, b.owner.token)))
  for (const w of watchers) await w.client.subscribeAsync(reportTopic(DEV_ID))
  for (const w of watchers) {
    const got = await w.receive((m) => m.topic === reportTopic(DEV_ID))
    assert.equal(JSON.parse(got.text).print.command, 'push_status')
  }
  assert.equal(b.printer.lanClients, 1)

  const admin = await adminDevice(b.s)
  assert.equal(admin.online, true)
  assert.equal(admin.lan_ip, '127.0.0.1')
  assert.deepEqual([admin.lan_mqtt_port, admin.lan_ftps_port], [b.lan.mqttPort, b.lan.ftpsPort])
  assert.equal(admin.lan_cert_sha256, fingerprintOf(await printerCertificate()), 'pinned on first connection')
  assert.equal(admin.bridge.state, 'connected')
  assert.equal(admin.bridge.last_error, null)
  assert.equal(admin.bridge.reconnects, 0)
  assert.ok(!Number.isNaN(Date.parse(admin.bridge.since)))
  assert.ok(!Number.isNaN(Date.parse(admin.bridge.last_report_at)))
})

test('a request an owner publishes to the cloud broker reaches the printer, and its answer comes back', async (t) => {
  const b = await startBridged(t)
  const user = await connect(b.broker, `u_${b.owner.uid}`, b.owner.token)
  await user.client.subscribeAsync(reportTopic(DEV_ID))
  await user.client.publishAsync(requestTopic(DEV_ID), JSON.stringify({ info: { sequence_id: '41', command: 'get_version' } }))
  const version = await user.receive((m) => m.text.includes('"get_version"'))
  const modules = JSON.parse(version.text).info.module as { name: string; sw_ver: string }[]
  assert.equal(modules.find((m) => m.name === 'ota')?.sw_ver, '01.08.01.00')

  // A print command: the printer answers it (nothing to pause).
  await user.client.publishAsync(requestTopic(DEV_ID), JSON.stringify({ print: { sequence_id: '42', command: 'pause', param: '' } }))
  const answer = await user.receive((m) => m.text.includes('"sequence_id":"42"'))
  assert.deepEqual(JSON.parse(answer.text).print, { sequence_id: '42', command: 'pause', param: '', result: 'failed', reason: 'no print to pause' })
  // The firmware version the printer reported reached the device record as well.
  await eventually(async () => (await adminDevice(b.s)).firmware_version === '01.08.01.00', WAIT_MS)
})

test('clearing lan_ip disconnects the printer at once and marks it offline; setting it again reconnects', async (t) => {
  const b = await startBridged(t)
  await eventually(async () => (await boundDevice(b)).online, WAIT_MS)

  const off = await bridgeTo(b.s, b.lan, null)
  assert.equal(off.bridge, null)
  await eventually(() => b.printer.lanClients === 0, WAIT_MS)
  await eventually(async () => !(await boundDevice(b)).online, WAIT_MS)

  await bridgeTo(b.s, b.lan)
  await eventually(async () => (await adminDevice(b.s)).bridge.state === 'connected', WAIT_MS)
  await eventually(async () => (await boundDevice(b)).online, WAIT_MS)
  assert.equal(b.printer.lanClients, 1)
})

test('a wrong access code leaves the bridge retrying with the printer’s refusal as its error', async (t) => {
  const b = await startBridged(t)
  const res = await b.s.admin({ method: 'PATCH', url: `/admin/v1/devices/${DEV_ID}`, payload: { dev_access_code: '00000000' } })
  assert.equal(res.statusCode, 200)
  const device = await eventually(async () => {
    const d = await adminDevice(b.s)
    return d.bridge.state === 'backoff' && d.bridge.last_error === 'the printer refused the access code' && d
  }, WAIT_MS)
  assert.equal(device.online, false)
  assert.equal(b.printer.lanClients, 0)
})

test('removing a bridged printer ends its connection', async (t) => {
  const b = await startBridged(t)
  const res = await b.s.admin({ method: 'DELETE', url: `/admin/v1/devices/${DEV_ID}` })
  assert.equal(res.statusCode, 204)
  await eventually(() => b.printer.lanClients === 0, WAIT_MS)
  assert.equal(b.bridge.status(DEV_ID), null)
})
