/**
 * A bridged printer that goes away and comes back: the bridge backs off and marks it
 * offline, reconnects when it answers again, and refuses a printer presenting another
 * certificate than the pinned one until the operator sets the address again.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { reportTopic } from '@bambu-cloud/protocol'
import { generateSelfSignedCertificate } from '../src/lib/certificate.ts'
import { connect, eventually } from './helpers/mqtt.ts'
import { adminDevice, boundDevice, bridgeTo, DEV_ID, fingerprintOf, printerCertificate, startBridged, startPrinter, waitForBridge, WAIT_MS } from './helpers/bridge.ts'

test('a printer that goes away is offline with the bridge backing off; back on the same address, it is reconnected', async (t) => {
  const b = await startBridged(t)
  await eventually(async () => (await boundDevice(b)).online, WAIT_MS)
  const user = await connect(b.broker, `u_${b.owner.uid}`, b.owner.token)
  await user.client.subscribeAsync(reportTopic(DEV_ID))

  await b.printer.close()
  const away = await waitForBridge(b.s, (bridge) => bridge.state === 'backoff' && bridge.last_error !== null)
  assert.match(away.bridge.last_error, /^the printer closed the connection|^cannot reach 127\.0\.0\.1:\d+: connect ECONNREFUSED/)
  await eventually(async () => !(await boundDevice(b)).online, WAIT_MS)
  // It keeps trying while nothing answers.
  const retrying = await waitForBridge(b.s, (bridge) => bridge.reconnects >= 2 && /ECONNREFUSED/.test(bridge.last_error ?? ''))
  assert.equal(retrying.online, false)

  // The same printer (same certificate) back on the same ports.
  const { printer } = await startPrinter(t, { partialReports: false }, { mqttPort: b.lan.mqttPort, ftpsPort: b.lan.ftpsPort, certificate: await printerCertificate() })
  const back = await waitForBridge(b.s, (bridge) => bridge.state === 'connected')
  assert.equal(back.bridge.last_error, null)
  assert.ok(back.bridge.reconnects >= 2)
  await eventually(async () => (await boundDevice(b)).online, WAIT_MS)
  assert.equal(printer.lanClients, 1)
  // Its reports flow again: to cloud subscribers and into device state.
  const from = user.received.length
  const accepted = b.broker.stats().reports.accepted
  await eventually(() => user.received.slice(from).some((m) => m.topic === reportTopic(DEV_ID)), WAIT_MS)
  await eventually(() => b.broker.stats().reports.accepted > accepted, WAIT_MS)
})

test('a printer presenting another certificate than the pinned one is refused until lan_ip is set again', async (t) => {
  const b = await startBridged(t)
  const pinned = fingerprintOf(await printerCertificate())
  assert.equal((await adminDevice(b.s)).lan_cert_sha256, pinned)
  await b.printer.close()
  await waitForBridge(b.s, (bridge) => bridge.state === 'backoff')

  const impostorCertificate = await generateSelfSignedCertificate(DEV_ID)
  const { printer } = await startPrinter(t, {}, { mqttPort: b.lan.mqttPort, ftpsPort: b.lan.ftpsPort, certificate: impostorCertificate })
  const refused = await waitForBridge(b.s, (bridge) => /certificate/.test(bridge.last_error ?? ''))
  assert.notEqual(refused.bridge.state, 'connected')
  assert.equal(
    refused.bridge.last_error,
    `the printer presented a certificate (SHA-256 ${fingerprintOf(impostorCertificate)}) other than the one pinned for it (${pinned}); if the printer really changed, set its lan_ip again to trust the new one`,
  )
  assert.equal(refused.online, false)
  assert.equal(refused.lan_cert_sha256, pinned)
  assert.equal(printer.lanClients, 0)

  // The operator trusts the new certificate by giving the address again.
  const patched = await bridgeTo(b.s, b.lan)
  assert.equal(patched.lan_cert_sha256, null)
  const trusted = await waitForBridge(b.s, (bridge) => bridge.state === 'connected')
  assert.equal(trusted.lan_cert_sha256, fingerprintOf(impostorCertificate))
  await eventually(async () => (await boundDevice(b)).online, WAIT_MS)
  assert.equal(printer.lanClients, 1)
})
