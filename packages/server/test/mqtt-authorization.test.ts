import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addDevice, startTestApp, type TestApp } from './helpers/app.ts'
import { connect, eventually, printReport, startBroker, subscribeEach } from './helpers/mqtt.ts'
import type { MqttBroker } from '../src/mqtt/broker.ts'

/** Alice owns AAA, Bob owns BBB; both printers and both users connected. */
async function twoOwners(s: TestApp, broker: MqttBroker) {
  const alice = await s.createUser('alice@example.com')
  const bob = await s.createUser('bob@example.com')
  const aliceToken = (await s.login('alice@example.com')).accessToken
  const bobToken = (await s.login('bob@example.com')).accessToken
  await addDevice(s, 'alice@example.com', 'AAA', { dev_access_code: '11111111' })
  await addDevice(s, 'bob@example.com', 'BBB', { dev_access_code: '22222222' })
  return {
    alice: await connect(broker, `u_${alice.uid}`, aliceToken),
    bob: await connect(broker, `u_${bob.uid}`, bobToken),
    printerA: await connect(broker, 'AAA', '11111111'),
    printerB: await connect(broker, 'BBB', '22222222'),
  }
}

test('wrong or missing credentials are refused with "bad user name or password"', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const alice = await s.createUser('alice@example.com')
  const bob = await s.createUser('bob@example.com')
  const token = (await s.login('alice@example.com')).accessToken
  await addDevice(s, 'alice@example.com', 'AAA', { dev_access_code: '11111111' })
  const refusals: [string | undefined, string | Buffer | undefined][] = [
    [`u_${alice.uid}`, 'not-a-token'],
    [`u_${bob.uid}`, token],
    [`u_${alice.uid}`, undefined],
    [undefined, undefined],
    ['u_', token],
    ['AAA', '11111112'],
    ['AAA', ''],
    ['NOPE', '11111111'],
    ['AAA', Buffer.from([0xff, 0xfe, 0x00, 0x80])],
    ['AAA', Buffer.alloc(10_000, 0x31)],
  ]
  for (const [username, password] of refusals) {
    await assert.rejects(connect(broker, username, password), (err: Error & { code?: number }) => {
      assert.equal(err.code, 4, `${username} / ${String(password).slice(0, 20)}: ${err.message}`)
      return true
    })
  }
  // And still serving the right ones.
  const ok = await connect(broker, `u_${alice.uid}`, token)
  await ok.end()
})

test('a user may not subscribe to another user’s printer, nor to request or other topics', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { alice } = await twoOwners(s, broker)
  const filters = ['device/BBB/report', 'device/AAA/request', 'device/+/request', 'other/topic', '$SYS/#', 'device/NOPE/report', 'device/AAA/report']
  assert.deepEqual(await subscribeEach(alice.client, filters), [128, 128, 128, 128, 128, 128, 0])
})

test('a "#" subscription delivers the user’s own printers’ reports and never anyone else’s, nor requests', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { alice, bob, printerA, printerB } = await twoOwners(s, broker)
  for (const filter of ['#', 'device/+/report', 'device/#', '+/+/+']) {
    const [grant] = await alice.client.subscribeAsync(filter)
    assert.equal(grant!.qos, 0, filter)
  }
  await bob.client.subscribeAsync('device/BBB/report')
  await printerB.client.subscribeAsync('device/BBB/request')

  await printerB.client.publishAsync('device/BBB/report', printReport({ mc_percent: 66 }))
  await bob.client.publishAsync('device/BBB/request', '{"pushing":{"command":"pushall"}}')
  // Once Bob and his printer have theirs, Alice's copies (if any) were routed too.
  await bob.receive((m) => m.text.includes('66'))
  await printerB.receive((m) => m.text.includes('pushall'))
  await printerA.client.publishAsync('device/AAA/report', printReport({ mc_percent: 11 }))
  await alice.receive((m) => m.topic === 'device/AAA/report')
  await alice.roundTrip()

  assert.deepEqual(
    alice.received.map((m) => m.topic),
    ['device/AAA/report'],
    'one copy of her own report, for all four overlapping filters, and nothing of Bob’s',
  )
})

test('publishing to another user’s printer ends the session and reaches nobody', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { alice, printerB } = await twoOwners(s, broker)
  const heard: string[] = []
  broker.onRequest((devId) => heard.push(devId))
  await printerB.client.subscribeAsync('device/BBB/request')

  await alice.client.publishAsync('device/BBB/request', '{"print":{"command":"stop","sequence_id":"1"}}').catch(() => {})
  await alice.closed
  // The printer gets its own owner's later request, and only that.
  const bob = await connect(broker, 'u_' + (await s.app.services.accounts.byAccount('bob@example.com'))!.uid, (await s.login('bob@example.com')).accessToken)
  await bob.client.publishAsync('device/BBB/request', '{"print":{"command":"pause","sequence_id":"2"}}')
  await printerB.receive((m) => m.text.includes('pause'))
  await printerB.roundTrip()
  assert.deepEqual(printerB.received.map((m) => JSON.parse(m.text).print.command), ['pause'])
  assert.deepEqual(heard, ['BBB'])
})

test('a user may not publish reports, not even for its own printer', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { alice } = await twoOwners(s, broker)
  await alice.client.publishAsync('device/AAA/report', printReport({ gcode_state: 'FAILED' })).catch(() => {})
  await alice.closed
  assert.deepEqual(broker.stats().reports, { accepted: 0, ignored: 0, dropped: 0 })
})

test('a printer may publish only its own reports and read only its own requests', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { bob, printerA } = await twoOwners(s, broker)
  await bob.client.subscribeAsync('device/BBB/report')

  const filters = ['device/BBB/request', 'device/AAA/report', '#', 'device/+/request', 'device/AAA/request']
  assert.deepEqual(await subscribeEach(printerA.client, filters), [128, 128, 128, 128, 0])

  await printerA.client.publishAsync('device/BBB/report', printReport({ gcode_state: 'FAILED', subtask_name: 'Forged' })).catch(() => {})
  await printerA.closed
  // Bob's printer reports next; the forged report never arrived before it, nor got recorded.
  const printerB = await connect(broker, 'BBB', '22222222')
  await printerB.client.publishAsync('device/BBB/report', printReport({ mc_percent: 3 }))
  await bob.receive((m) => m.text.includes('"mc_percent":3'))
  await bob.roundTrip()
  assert.equal(bob.received.length, 1)
  await eventually(() => broker.stats().reports.accepted === 1)
  await broker.close()
  const row = await s.app.services.devices.get('BBB')
  assert.equal(row!.print_status, 'IDLE')
  assert.ok(!row!.state.includes('Forged'))
})

test('after unbinding, the former owner’s subscriptions deliver nothing more', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { alice, printerA } = await twoOwners(s, broker)
  await alice.client.subscribeAsync('device/AAA/report')
  const wildcard = await connect(broker, 'u_' + (await s.app.services.accounts.byAccount('alice@example.com'))!.uid, (await s.login('alice@example.com')).accessToken)
  await wildcard.client.subscribeAsync('#')
  await printerA.client.publishAsync('device/AAA/report', printReport({ mc_percent: 1 }))
  await alice.receive((m) => m.text.includes('"mc_percent":1'))
  await wildcard.receive((m) => m.text.includes('"mc_percent":1'))

  const res = await s.admin({ method: 'PATCH', url: '/admin/v1/devices/AAA', payload: { owner: null } })
  assert.equal(res.statusCode, 200, res.body)
  // A watcher that may still read AAA shows when the next report has been routed.
  await addDevice(s, 'bob@example.com', 'AAA')
  const bob = await connect(broker, 'u_' + (await s.app.services.accounts.byAccount('bob@example.com'))!.uid, (await s.login('bob@example.com')).accessToken)
  await bob.client.subscribeAsync('device/AAA/report')
  await printerA.client.publishAsync('device/AAA/report', printReport({ mc_percent: 2 }))
  await bob.receive((m) => m.text.includes('"mc_percent":2'))
  await Promise.all([alice.roundTrip(), wildcard.roundTrip()])
  assert.equal(alice.received.length, 1)
  assert.equal(wildcard.received.length, 1)
  // Unbinding cleared `online`; the printer never left, so its new owner sees it online.
  await eventually(async () => (await s.app.services.devices.get('AAA'))!.online === 1)
})
