/**
 * Bridging a printer through the admin API: what `PATCH` accepts for its address and ports,
 * what the record shows, and that giving the address again forgets the pinned certificate.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addDevice, startTestApp, type TestApp } from './helpers/app.ts'

const patch = (s: TestApp, payload: Record<string, unknown>) => s.admin({ method: 'PATCH', url: '/admin/v1/devices/DEV1', payload })

test('a printer is not bridged until it has a lan_ip; the record shows the address, ports and bridge', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('owner@example.com')
  const added = await addDevice(s, 'owner@example.com', 'DEV1')
  assert.deepEqual(
    { lan_ip: added.lan_ip, lan_mqtt_port: added.lan_mqtt_port, lan_ftps_port: added.lan_ftps_port, lan_cert_sha256: added.lan_cert_sha256, bridge: added.bridge },
    { lan_ip: null, lan_mqtt_port: 8883, lan_ftps_port: 990, lan_cert_sha256: null, bridge: null },
  )

  for (const host of ['192.168.1.40', 'fd00::12', 'printer.lan', 'x1c']) {
    const res = await patch(s, { lan_ip: host })
    assert.equal(res.statusCode, 200, `${host}: ${res.body}`)
    assert.equal(res.json().lan_ip, host)
  }
  const ports = await patch(s, { lan_mqtt_port: 18883, lan_ftps_port: 1990 })
  assert.equal(ports.statusCode, 200)
  const body = ports.json()
  assert.deepEqual([body.lan_ip, body.lan_mqtt_port, body.lan_ftps_port], ['x1c', 18883, 1990])
  // No bridge runs in this app: the printer is bridged, but not connected from here.
  assert.deepEqual(body.bridge, { state: 'off', since: null, last_error: null, reconnects: 0, last_report_at: null })

  const off = await patch(s, { lan_ip: null })
  assert.equal(off.statusCode, 200)
  assert.deepEqual([off.json().lan_ip, off.json().bridge, off.json().lan_mqtt_port], [null, null, 18883])
  const row = await s.database.db.selectFrom('devices').select(['lan_ip', 'lan_mqtt_port', 'lan_ftps_port']).where('dev_id', '=', 'DEV1').executeTakeFirstOrThrow()
  assert.deepEqual(row, { lan_ip: null, lan_mqtt_port: 18883, lan_ftps_port: 1990 })
})

test('an address that is neither an IP nor a host name, or a port out of range, is refused and changes nothing', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1')
  await patch(s, { lan_ip: '10.0.0.5' })
  for (const payload of [
    { lan_ip: 'not a host' },
    { lan_ip: 'http://10.0.0.5' },
    { lan_ip: '-printer' },
    { lan_ip: '' },
    { lan_ip: 'a'.repeat(254) },
    { lan_mqtt_port: 0 },
    { lan_ftps_port: 65536 },
    { lan_mqtt_port: '8883' },
  ]) {
    const res = await patch(s, payload)
    assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`)
    assert.equal(res.json().code, 1002)
    if (typeof payload.lan_ip === 'string' && payload.lan_ip.includes(' ')) assert.match(res.json().message, /lan_ip must be an IPv4 or IPv6 address or a host name/)
  }
  const device = (await s.admin({ method: 'GET', url: '/admin/v1/devices/DEV1' })).json()
  assert.deepEqual([device.lan_ip, device.lan_mqtt_port, device.lan_ftps_port], ['10.0.0.5', 8883, 990])
})

test('giving lan_ip again forgets the pinned certificate; other changes keep it', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1')
  await patch(s, { lan_ip: '10.0.0.5' })
  const pinned = await s.app.services.devices.pinLanCertificate('DEV1', 'AA:BB')
  assert.equal(pinned, 'AA:BB')
  // Trust on first use: a second certificate does not replace the first.
  assert.equal(await s.app.services.devices.pinLanCertificate('DEV1', 'CC:DD'), 'AA:BB')
  const renamed = await patch(s, { name: 'Workshop', lan_mqtt_port: 8884 })
  assert.equal(renamed.json().lan_cert_sha256, 'AA:BB')
  const again = await patch(s, { lan_ip: '10.0.0.5' })
  assert.equal(again.json().lan_cert_sha256, null)
})
