import { test } from 'node:test'
import assert from 'node:assert/strict'
import { credentialsOf, filterReachesReports, forwardAccess, publishAccess, subscribeAccess, type Session } from '../src/mqtt/access.ts'

const user: Session = { kind: 'user', uid: 7, loginId: 'L', accessToken: 'T', expiresInMs: 60_000 }
const printer: Session = { kind: 'device', devId: 'P1', accessCode: '12345678' }

test('credentials: u_<uid> is a user, anything else a printer id; junk is nobody', () => {
  assert.deepEqual(credentialsOf('u_7', Buffer.from('token')), { kind: 'user', uid: 7, accessToken: 'token' })
  assert.deepEqual(credentialsOf('01S00C', Buffer.from('12345678')), { kind: 'device', devId: '01S00C', accessCode: '12345678' })
  assert.equal(credentialsOf(undefined, Buffer.from('x')), null)
  assert.equal(credentialsOf('u_7', undefined), null)
  assert.equal(credentialsOf('u_7', Buffer.alloc(0)), null)
  assert.equal(credentialsOf('u_7', Buffer.alloc(5000, 0x41)), null)
  assert.equal(credentialsOf('a/b', Buffer.from('x')), null)
  assert.equal(credentialsOf('x'.repeat(200), Buffer.from('x')), null)
  // Not a uid: treated as a printer id, which no printer has.
  assert.equal(credentialsOf('u_x', Buffer.from('t'))?.kind, 'device')
})

test('wildcards are granted only where they can reach a report topic', () => {
  for (const filter of ['#', 'device/#', 'device/+/report', '+/+/report', 'device/+/+', 'device/P1/#', '+/#', 'device/+/report/#']) {
    assert.equal(filterReachesReports(filter), true, filter)
  }
  for (const filter of ['device/+/request', 'device/+', 'device', 'device//report', 'device/+/report/x', 'other/#', '$SYS/#', '+/+', '$share/g/device/+/report']) {
    assert.equal(filterReachesReports(filter), false, filter)
  }
})

test('users: subscribe to reports and publish requests, of owned printers only', () => {
  assert.deepEqual(subscribeAccess(user, 'device/P1/report'), { ownedDevice: 'P1' })
  assert.equal(subscribeAccess(user, 'device/P1/request'), 'deny')
  assert.equal(subscribeAccess(user, 'device/+/report'), 'allow')
  assert.equal(subscribeAccess(user, 'device/+/request'), 'deny')
  assert.deepEqual(publishAccess(user, 'device/P1/request'), { ownedDevice: 'P1' })
  assert.equal(publishAccess(user, 'device/P1/report'), 'deny')
  assert.equal(publishAccess(user, 'elsewhere'), 'deny')
  assert.deepEqual(forwardAccess(user, 'device/P1/report'), { ownedDevice: 'P1' })
  assert.equal(forwardAccess(user, 'device/P1/request'), 'deny')
  assert.equal(forwardAccess(user, '$SYS/x/heartbeat'), 'deny')
})

test('printers: publish their own reports and read their own requests, nothing else', () => {
  assert.equal(publishAccess(printer, 'device/P1/report'), 'allow')
  assert.equal(publishAccess(printer, 'device/P2/report'), 'deny')
  assert.equal(publishAccess(printer, 'device/P1/request'), 'deny')
  assert.equal(subscribeAccess(printer, 'device/P1/request'), 'allow')
  assert.equal(subscribeAccess(printer, 'device/P2/request'), 'deny')
  assert.equal(subscribeAccess(printer, 'device/+/request'), 'deny')
  assert.equal(subscribeAccess(printer, '#'), 'deny')
  assert.equal(forwardAccess(printer, 'device/P1/request'), 'allow')
  assert.equal(forwardAccess(printer, 'device/P2/request'), 'deny')
})
