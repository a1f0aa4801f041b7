import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addDevice, bearer, PASSWORD, startTestApp, type TestApp } from './helpers/app.ts'
import { connect, printReport, startBroker } from './helpers/mqtt.ts'
import { sha256 } from '../src/lib/secrets.ts'

const refusedWithBadCredentials = (err: Error & { code?: number }) => err.code === 4
const refusedAsNotAuthorized = (err: Error & { code?: number }) => err.code === 5

test('logging out ends the MQTT session of that login, and its token cannot connect again', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { uid } = await s.createUser('owner@example.com')
  const kept = await s.login('owner@example.com')
  const leaving = await s.login('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  const stays = await connect(broker, `u_${uid}`, kept.accessToken)
  const goes = await connect(broker, `u_${uid}`, leaving.accessToken)
  await stays.client.subscribeAsync('device/DEV1/report')

  const res = await s.request({ method: 'POST', url: '/v1/user-service/my/logout', headers: bearer(leaving.accessToken), payload: {} })
  assert.equal(res.statusCode, 200)
  await goes.closed
  await assert.rejects(connect(broker, `u_${uid}`, leaving.accessToken), refusedWithBadCredentials)

  // The other login's session is untouched.
  assert.equal(stays.client.connected, true)
  broker.publishReport('DEV1', Buffer.from(printReport({ mc_percent: 9 })))
  await stays.receive((m) => m.text.includes('"mc_percent":9'))
})

test('reusing a refresh token revokes its login and ends that login’s sessions', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { uid } = await s.createUser('owner@example.com')
  const pair = await s.login('owner@example.com')
  const session = await connect(broker, `u_${uid}`, pair.accessToken)
  const refresh = () => s.request({ method: 'POST', url: '/v1/user-service/user/refreshtoken', payload: { refreshToken: pair.refreshToken } })
  assert.equal((await refresh()).statusCode, 200)
  assert.equal(session.client.connected, true, 'a refresh leaves the old access token working')
  s.clock.advance(10_000) // past REFRESH_REUSE_GRACE
  assert.equal((await refresh()).statusCode, 401)
  await session.closed
  await assert.rejects(connect(broker, `u_${uid}`, pair.accessToken), refusedWithBadCredentials)
})

test('a password change ends every session of the user, not other users’', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s)
  const { uid } = await s.createUser('owner@example.com')
  const other = await s.createUser('other@example.com')
  const first = await connect(broker, `u_${uid}`, (await s.login('owner@example.com')).accessToken)
  const second = await connect(broker, `u_${uid}`, (await s.login('owner@example.com')).accessToken)
  const bystander = await connect(broker, `u_${other.uid}`, (await s.login('other@example.com')).accessToken)

  const res = await s.admin({ method: 'PATCH', url: `/admin/v1/users/${uid}`, payload: { password: `${PASSWORD} changed` } })
  assert.equal(res.statusCode, 200, res.body)
  await Promise.all([first.closed, second.closed])
  await bystander.roundTrip()
  assert.equal(bystander.client.connected, true)
})

test('a login revoked by another server process (or expired) is found by the periodic re-check', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s, { revalidateEvery: 100 })
  const { uid } = await s.createUser('owner@example.com')
  const first = await s.login('owner@example.com')
  const revoked = await connect(broker, `u_${uid}`, first.accessToken)
  const expiring = await connect(broker, `u_${uid}`, (await s.login('owner@example.com')).accessToken)
  const lasting = await s.login('owner@example.com')

  // Straight in the database, as another process would: no in-process event fires.
  const token = await s.database.db.selectFrom('tokens').select('login_id').where('hash', '=', sha256(first.accessToken)).executeTakeFirstOrThrow()
  await s.database.db.updateTable('logins').set({ revoked_at: s.clock.ms }).where('id', '=', token.login_id).execute()
  await revoked.closed
  assert.equal(expiring.client.connected, true)

  // Past every token's lifetime: the rest go too, and the newest token no longer connects.
  s.clock.advance((s.config.accessTokenTtl + 1) * 1000)
  await expiring.closed
  await assert.rejects(connect(broker, `u_${uid}`, lasting.accessToken), refusedWithBadCredentials)
})

test('deleting a user ends its sessions at once', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s, { revalidateEvery: 3_600_000 })
  const { uid } = await s.createUser('owner@example.com')
  const session = await connect(broker, `u_${uid}`, (await s.login('owner@example.com')).accessToken)
  assert.equal((await s.admin({ method: 'DELETE', url: `/admin/v1/users/${uid}` })).statusCode, 204)
  await session.closed
})

test('a printer removed, or given another access code, loses its session; the new code connects', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s, { revalidateEvery: 3_600_000 })
  await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  await addDevice(s, 'owner@example.com', 'DEV2', { dev_access_code: '87654321' })
  const first = await connect(broker, 'DEV1', '12345678')
  const second = await connect(broker, 'DEV2', '87654321')

  const patched = await s.admin({ method: 'PATCH', url: '/admin/v1/devices/DEV1', payload: { dev_access_code: '11112222' } })
  assert.equal(patched.statusCode, 200, patched.body)
  await first.closed
  await assert.rejects(connect(broker, 'DEV1', '12345678'), refusedWithBadCredentials)
  await connect(broker, 'DEV1', '11112222')

  assert.equal((await s.admin({ method: 'DELETE', url: '/admin/v1/devices/DEV2' })).statusCode, 204)
  await second.closed
})

test('failed MQTT logins are limited per user name: past the limit even the right code is refused (not authorized)', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '3' })
  const broker = await startBroker(s)
  await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })
  for (let i = 0; i < 3; i++) await assert.rejects(connect(broker, 'DEV1', `0000000${i}`), refusedWithBadCredentials)
  await assert.rejects(connect(broker, 'DEV1', '12345678'), refusedAsNotAuthorized)
  // Other names are not affected.
  await addDevice(s, 'owner@example.com', 'DEV2', { dev_access_code: '87654321' })
  await connect(broker, 'DEV2', '87654321')
  // Once the window has passed, the printer gets in again.
  s.clock.advance(16 * 60_000)
  await connect(broker, 'DEV1', '12345678')
})

/** The CONNACK return code of each login: 0 when accepted (the client is then closed). */
async function connackCodes(attempts: Promise<Awaited<ReturnType<typeof connect>>>[]): Promise<number[]> {
  return Promise.all(
    attempts.map((attempt) =>
      attempt.then(
        async (session) => {
          await session.end()
          return 0
        },
        (err: Error & { code?: number }) => err.code ?? -1,
      ),
    ),
  )
}

/** How many logins got each CONNACK return code. */
function tally(codes: number[]): Record<number, number> {
  const counts: Record<number, number> = {}
  for (const code of codes) counts[code] = (counts[code] ?? 0) + 1
  return counts
}

async function recordedAttempts(s: TestApp, bucket: string): Promise<number> {
  return (await s.database.db.selectFrom('rate_events').select('id').where('bucket', '=', bucket).execute()).length
}

test('parallel wrong access codes: only the limit is checked (CONNACK 4), the rest and then the right code get CONNACK 5', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '4' })
  const broker = await startBroker(s)
  await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })

  const codes = await connackCodes(Array.from({ length: 12 }, (_, i) => connect(broker, 'DEV1', String(10_000_000 + i))))
  assert.deepEqual(tally(codes), { 4: 4, 5: 8 })
  assert.equal(await recordedAttempts(s, 'mqtt:name:DEV1'), 4)
  await assert.rejects(connect(broker, 'DEV1', '12345678'), refusedAsNotAuthorized)
})

test('parallel wrong access tokens for u_<uid>: only the limit is checked (CONNACK 4), the rest and then the right token get CONNACK 5', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '4' })
  const broker = await startBroker(s)
  const { uid } = await s.createUser('owner@example.com')
  const pair = await s.login('owner@example.com')

  const codes = await connackCodes(Array.from({ length: 12 }, (_, i) => connect(broker, `u_${uid}`, `not a token ${i}`)))
  assert.deepEqual(tally(codes), { 4: 4, 5: 8 })
  assert.equal(await recordedAttempts(s, `mqtt:name:u_${uid}`), 4)
  await assert.rejects(connect(broker, `u_${uid}`, pair.accessToken), refusedAsNotAuthorized)
})

test('an accepted MQTT login gives its slot back: it does not count as a failure', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '3' })
  const broker = await startBroker(s)
  await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1', { dev_access_code: '12345678' })

  const codes: number[] = []
  for (const code of ['00000001', '00000002', '12345678', '12345678', '00000003']) codes.push(...(await connackCodes([connect(broker, 'DEV1', code)])))
  assert.deepEqual(codes, [4, 4, 0, 0, 4])
  assert.equal(await recordedAttempts(s, 'mqtt:name:DEV1'), 3)
  await assert.rejects(connect(broker, 'DEV1', '12345678'), refusedAsNotAuthorized)
})
