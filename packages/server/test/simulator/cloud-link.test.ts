/**
 * The printer's side of a cloud connection, against a plain aedes broker standing in for
 * the cloud: the credentials it logs in with, the topic it listens on, its answers. (The
 * project's own cloud broker is tested against virtual printers on its side.)
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import net, { type AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import mqtt from 'mqtt'
import { pushallRequest, reportTopic, requestTopic } from '@bambu-cloud/protocol'
import { fleetDevId, startFleet } from '../../src/simulator/fleet.ts'
import { VirtualPrinter } from '../../src/simulator/virtual-printer.ts'
import { ACCESS_CODE, DEV_ID, ReportLog } from './helpers.ts'

interface Login {
  clientId: string
  username: string | undefined
  password: string | undefined
}

/** An MQTT broker on a free port that records logins and subscriptions; only `accept` gets in. */
async function standInCloud(t: TestContext, accept: (login: Login) => boolean = () => true) {
  const logins: Login[] = []
  const subscriptions: Array<{ clientId: string; topic: string }> = []
  const broker = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      const login = { clientId: client.id, username, password: password?.toString() }
      logins.push(login)
      if (accept(login)) return done(null, true)
      done(Object.assign(new Error('refused'), { returnCode: 4 }) as never, false)
    },
  })
  broker.on('subscribe', (subs, client) => subscriptions.push(...subs.map((s) => ({ clientId: client.id, topic: s.topic }))))
  const server = net.createServer((socket) => broker.handle(socket))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { url, logins, subscriptions }
}

async function watcher(t: TestContext, url: string, devId: string) {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 })
  t.after(() => client.endAsync(true))
  const reports = new ReportLog(client, reportTopic(devId))
  await client.subscribeAsync(reportTopic(devId))
  return { client, reports }
}

test('a printer logs in with its dev_id and access code, listens on its request topic and answers', async (t) => {
  const cloud = await standInCloud(t)
  const printer = new VirtualPrinter({ devId: DEV_ID, accessCode: ACCESS_CODE, reportIntervalMs: 20 })
  t.after(() => printer.close())
  await printer.connectToCloud({ url: cloud.url })
  assert.equal(printer.cloudConnected, true)
  assert.deepEqual(cloud.logins, [{ clientId: `dev_${DEV_ID}`, username: DEV_ID, password: ACCESS_CODE }])
  assert.deepEqual(cloud.subscriptions, [{ clientId: `dev_${DEV_ID}`, topic: requestTopic(DEV_ID) }])

  const { client, reports } = await watcher(t, cloud.url, DEV_ID)
  await reports.waitForReports(2, 0)
  await client.publishAsync(requestTopic(DEV_ID), JSON.stringify(pushallRequest('8')))
  const full = await reports.waitForPrint('the pushall answer', (p) => p.sequence_id === '8')
  assert.equal(full.gcode_state, 'IDLE')
  assert.equal(full.command, 'push_status')
})

test('a refused login rejects connectToCloud; a later attempt may succeed', async (t) => {
  let open = false
  const cloud = await standInCloud(t, () => open)
  const printer = new VirtualPrinter({ devId: DEV_ID, accessCode: ACCESS_CODE })
  t.after(() => printer.close())
  await assert.rejects(printer.connectToCloud({ url: cloud.url }), /cannot connect SIM000000000001 .*Bad username or password/)
  assert.equal(printer.cloudConnected, false)
  open = true
  await printer.connectToCloud({ url: cloud.url })
  assert.equal(printer.cloudConnected, true)
})

test('a fleet connects every printer with its own serial and access code', async (t) => {
  const cloud = await standInCloud(t)
  const fleet = await startFleet({ count: 3, devIdPrefix: 'TST', cloud: { url: cloud.url }, reportIntervalMs: 20, concurrency: 2 })
  t.after(() => fleet.close())
  const ids = fleet.printers.map((p) => p.devId)
  assert.deepEqual(ids, ['TST000000000001', 'TST000000000002', 'TST000000000003'])
  assert.deepEqual(
    cloud.logins.map((l) => [l.username, l.password]).sort(),
    fleet.printers.map((p) => [p.devId, p.accessCode]).sort(),
  )
  for (const p of fleet.printers) assert.match(p.accessCode, /^\d{8}$/)

  const { reports } = await watcher(t, cloud.url, ids[2]!)
  await reports.waitForReports(2, 0)
})

test('fleet serials are 15 characters, longer only when the prefix leaves no room', () => {
  assert.equal(fleetDevId('SIM', 7), 'SIM000000000007')
  assert.equal(fleetDevId('01S00A', 1234), '01S00A000001234')
  assert.equal(fleetDevId('ABCDEFGHIJKLMN', 12), 'ABCDEFGHIJKLMN12')
})
