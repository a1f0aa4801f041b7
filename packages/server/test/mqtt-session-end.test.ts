import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addDevice, bearer, startTestApp, type TestApp } from './helpers/app.ts'
import { connect, eventually, startBroker, type TestClient } from './helpers/mqtt.ts'
import type { MqttBroker } from '../src/mqtt/broker.ts'

const STOP = JSON.stringify({ print: { sequence_id: '9', command: 'stop', param: '' } })
const stopWill = { topic: 'device/DEV1/request', payload: Buffer.from(STOP), qos: 0 as const, retain: false }

/** A user and its printer DEV1, connected and listening to its requests; every request the broker hears is kept. */
async function printerAndOwner(s: TestApp, broker: MqttBroker) {
  const { uid } = await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  const printer = await connect(broker, 'DEV1', '12345678')
  await printer.client.subscribeAsync('device/DEV1/request')
  const requests: string[] = []
  broker.onRequest((_devId, payload) => requests.push(payload.toString('utf8')))
  return { uid, printer, requests }
}

/**
 * Sends a marker request through a fresh session of the owner and waits for it at the
 * printer: whatever the broker published before it has arrived by then.
 */
async function marker(s: TestApp, broker: MqttBroker, uid: number, printer: TestClient, text: string) {
  const other = await connect(broker, `u_${uid}`, (await s.login('owner@example.com')).accessToken)
  await other.client.publishAsync('device/DEV1/request', text, { qos: 1 })
  await printer.receive((m) => m.text === text)
  await other.end()
}

test('a session that drops without DISCONNECT delivers its will to the printer', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { uid, printer } = await printerAndOwner(s, broker)
  const user = await connect(broker, `u_${uid}`, (await s.login('owner@example.com')).accessToken, { will: stopWill })
  user.client.stream.destroy()
  await printer.receive((m) => m.topic === 'device/DEV1/request' && m.text === STOP)
})

test('logging out ends the session without its will: the printer never gets the stop', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { uid, printer, requests } = await printerAndOwner(s, broker)
  const leaving = await s.login('owner@example.com')
  const user = await connect(broker, `u_${uid}`, leaving.accessToken, { will: stopWill })

  const res = await s.request({ method: 'POST', url: '/v1/user-service/my/logout', headers: bearer(leaving.accessToken), payload: {} })
  assert.equal(res.statusCode, 200)
  await user.closed
  await eventually(() => broker.stats().sessions === 1)
  await marker(s, broker, uid, printer, 'after logout')
  assert.deepEqual(printer.received.map((m) => m.text), ['after logout'])
  assert.deepEqual(requests, ['after logout'])
})

test('a refused login’s will is never delivered', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { uid, printer, requests } = await printerAndOwner(s, broker)
  await assert.rejects(connect(broker, `u_${uid}`, 'not-a-token', { will: stopWill }), (err: Error & { code?: number }) => err.code === 4)
  await marker(s, broker, uid, printer, 'after refusal')
  assert.deepEqual(printer.received.map((m) => m.text), ['after refusal'])
  assert.deepEqual(requests, ['after refusal'])
})

test('a session ends when its token expires, without waiting for the periodic re-check, and leaves no will', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s, { revalidateEvery: 3_600_000 })
  const { uid, printer, requests } = await printerAndOwner(s, broker)
  const expiring = await s.login('owner@example.com')
  // Half a second before the token expires.
  s.clock.advance(s.config.accessTokenTtl * 1000 - 500)
  const lasting = await connect(broker, `u_${uid}`, (await s.login('owner@example.com')).accessToken)
  const user = await connect(broker, `u_${uid}`, expiring.accessToken, { will: stopWill })
  await user.roundTrip()
  assert.equal(user.client.connected, true)

  s.clock.advance(1000)
  // Bounded: without its own timer the session would live until the hourly re-check.
  await eventually(() => !user.client.connected, 10_000)
  await eventually(() => broker.stats().sessions === 2)
  await lasting.roundTrip()
  assert.equal(lasting.client.connected, true)
  await marker(s, broker, uid, printer, 'after expiry')
  assert.deepEqual(printer.received.map((m) => m.text), ['after expiry'])
  assert.deepEqual(requests, ['after expiry'])
})
