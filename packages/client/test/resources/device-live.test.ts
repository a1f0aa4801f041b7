/**
 * devices.watch, pause, resume and stop against the real cloud broker of a test server,
 * with a virtual printer connected to it as a device (its dev_id and access code).
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { DeviceMessage } from '@bambu-cloud/protocol'
import { AuthenticationError, BambuCloud, PermissionDeniedError, PrintControlError, type DeviceState } from '@bambu-cloud/client'
import { addDevice } from '../../../server/test/helpers/app.ts'
import { startBroker } from '../../../server/test/helpers/mqtt.ts'
import { VirtualPrinter } from '../../../server/src/simulator/virtual-printer.ts'
import { loggedIn, startCloud } from '../helpers/cloud.ts'

const DEV = '01S00A000000001'
const CODE = '12345678'

async function printerOnline(t: TestContext) {
  const cloud = await startCloud(t)
  const broker = await startBroker(cloud.s)
  const mqtt = { url: `mqtts://127.0.0.1:${broker.tlsPort}`, ca: broker.certificate! }
  const ada = await loggedIn(cloud, 'ada@example.com', { mqtt })
  await addDevice(cloud.s, 'ada@example.com', DEV, { dev_access_code: CODE })
  const printer = new VirtualPrinter({ devId: DEV, accessCode: CODE, timeScale: 600, reportIntervalMs: 50, printSeconds: 1800 })
  t.after(() => printer.close())
  await printer.connectToCloud({ url: mqtt.url, ca: broker.certificate!, reconnectPeriodMs: 200 })
  return { cloud, broker, mqtt, ada, printer }
}

/** The states `watch` yields until one satisfies `until`. */
async function watchUntil(states: AsyncGenerator<DeviceState>, until: (s: DeviceState) => boolean): Promise<DeviceState[]> {
  const seen: DeviceState[] = []
  for await (const state of states) {
    seen.push(state)
    if (until(state)) break
  }
  return seen
}

test('devices.watch: a full state first (pushall), then partial reports merged into it; ends with the loop', async (t) => {
  const { ada, printer } = await printerOnline(t)
  const states = ada.client.devices.watch(DEV, { signal: AbortSignal.timeout(20_000) })
  const first = (await states.next()).value!
  assert.equal(first.print?.gcode_state, 'IDLE')
  assert.equal(first.print?.nozzle_diameter, '0.4', 'the full report carries every field')

  // A print starts (and fails: nothing serves its file); the printer reports only what changed...
  const sent: DeviceMessage[] = []
  printer.on('report', (message: DeviceMessage) => sent.push(message))
  printer.handleRequest(JSON.stringify({ print: { sequence_id: '1', command: 'project_file', param: 'Metadata/plate_1.gcode', url: 'http://127.0.0.1:1/none.3mf' } }))
  let state = first
  while (state.print?.gcode_state === 'IDLE') state = (await states.next()).value!
  const change = sent.find((m) => m.print?.command === 'push_status' && m.print.gcode_state === state.print?.gcode_state)
  assert.ok(change, 'the printer reported the change')
  assert.equal(change.print!.nozzle_diameter, undefined, 'a partial report')
  // ...and what watch yields still holds the rest.
  assert.equal(state.print?.nozzle_diameter, '0.4')
  await states.return()
})

test('pause, resume and stop go through the broker and wait for the printer to confirm; a refusal rejects with its reason', async (t) => {
  const { ada, printer } = await printerOnline(t)
  await assert.rejects(ada.client.devices.pause(DEV), (err) => err instanceof PrintControlError && /refused pause/.test(err.message))

  // A long print started on the printer itself (the file only has to download), then controlled from the SDK.
  const server = http.createServer((_req, res) => res.end('any bytes')).listen(0, '127.0.0.1')
  t.after(() => server.close())
  await new Promise((r) => server.once('listening', r))
  const { port } = server.address() as AddressInfo
  printer.handleRequest(JSON.stringify({ print: { sequence_id: '7', command: 'project_file', param: 'Metadata/plate_1.gcode', url: `http://127.0.0.1:${port}/cube.3mf`, task_id: '1' } }))
  await watchUntil(ada.client.devices.watch(DEV, { signal: AbortSignal.timeout(20_000) }), (s) => s.print?.gcode_state === 'RUNNING')

  await ada.client.devices.pause(DEV)
  assert.equal(printer.state.gcode_state, 'PAUSE')
  await ada.client.devices.resume(DEV)
  assert.equal(printer.state.gcode_state, 'RUNNING')
  await ada.client.devices.stop(DEV)
  assert.equal(printer.state.gcode_state, 'FAILED', 'a stopped print reports FAILED')
})

test('another user’s printer is refused; a printer that does not answer times out; a bad token is an AuthenticationError', async (t) => {
  const { cloud, mqtt, broker } = await printerOnline(t)
  const bob = await loggedIn(cloud, 'bob@example.com', { mqtt })
  await assert.rejects(bob.client.devices.watch(DEV).next(), PermissionDeniedError)
  await assert.rejects(bob.client.devices.pause(DEV), PermissionDeniedError)

  await addDevice(cloud.s, 'bob@example.com', 'OFFLINE0000001')
  await assert.rejects(bob.client.devices.pause('OFFLINE0000001', { ackTimeoutMs: 300 }), (err) => err instanceof PrintControlError && /did not answer/.test(err.message))

  const stranger = new BambuCloud({ baseUrl: cloud.baseUrl, accessToken: 'not-a-token', mqtt: { url: `mqtts://127.0.0.1:${broker.tlsPort}`, ca: broker.certificate! }, maxRetries: 0 })
  await assert.rejects(stranger.devices.watch(DEV).next(), AuthenticationError)
})
