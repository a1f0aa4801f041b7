import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bearer, startTestApp, type TestApp, TOKEN_FIELDS, assertTokens } from './helpers/app.ts'

const LOGIN_FAILED = { code: 5, error: 'Login failed' }
const UNAUTHORIZED = { code: 4, error: 'Please login.', message: '' }
const TICKET_TTL_MS = 5 * 60 * 1000

type Response = Awaited<ReturnType<TestApp['request']>>

/** Logs a user in and asks for a ticket; returns the ticket answer. */
async function issueTicket(s: TestApp, accessToken: string, prefix = ''): Promise<{ ticket: string; pincode: string }> {
  const res = await s.request({ method: 'GET', url: `${prefix}/v1/user-service/user/ticket`, headers: bearer(accessToken) })
  assert.equal(res.statusCode, 200, res.body)
  return res.json()
}

function exchange(s: TestApp, ticket: string, prefix = '') {
  return s.request({ method: 'POST', url: `${prefix}/v1/user-service/user/ticket/${encodeURIComponent(ticket)}`, payload: { ticket } })
}

function assertLoginFailed(res: Response, what: string) {
  assert.equal(res.statusCode, 400, what)
  assert.deepEqual(res.json(), LOGIN_FAILED, what)
}

/** Asserts the seven-field body of a ticket login and that its token works; returns it. */
function assertTicketTokens(s: TestApp, res: Response, account: string) {
  return assertTokens(s, res, { accessMethod: 'ticket', account, ttl: s.config.ticketTokenTtl })
}

test('GET user/ticket answers {"ticket","pincode"} strings, the pincode 6 digits', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const { accessToken } = await s.login('maker@example.com')
  const res = await s.request({ method: 'GET', url: '/v1/user-service/user/ticket', headers: bearer(accessToken) })
  assert.equal(res.statusCode, 200)
  const body = res.json()
  assert.deepEqual(Object.keys(body).sort(), ['pincode', 'ticket'])
  assert.equal(typeof body.ticket, 'string')
  assert.ok(body.ticket.length >= 16)
  assert.equal(typeof body.pincode, 'string')
  assert.match(body.pincode, /^\d{6}$/)

  const another = await issueTicket(s, accessToken)
  assert.notEqual(another.ticket, body.ticket, 'each request gets its own ticket')
})

test('GET user/ticket without a token is 401', async (t) => {
  const s = await startTestApp(t)
  for (const url of ['/v1/user-service/user/ticket', '/api/v1/user-service/user/ticket']) {
    const res = await s.request({ method: 'GET', url })
    assert.equal(res.statusCode, 401, url)
    assert.deepEqual(res.json(), UNAUTHORIZED, url)
  }
  const bad = await s.request({ method: 'GET', url: '/v1/user-service/user/ticket', headers: bearer('not-a-token') })
  assert.equal(bad.statusCode, 401)
  assert.deepEqual(bad.json(), UNAUTHORIZED)
})

test('POST user/ticket/{T} without Authorization trades the ticket for tokens with accessMethod "ticket"', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const { ticket } = await issueTicket(s, (await s.login('maker@example.com')).accessToken)
  const res = await exchange(s, ticket)
  const body = await assertTicketTokens(s, res, 'maker@example.com')

  const refreshed = await s.request({ method: 'POST', url: '/v1/user-service/user/refreshtoken', payload: { refreshToken: body.refreshToken } })
  assert.equal(refreshed.statusCode, 200)
  assert.equal(refreshed.json().accessMethod, 'ticket')
  assert.equal(refreshed.json().expiresIn, 31536000)
})

test('the ticket exchange is served under /api/v1 too', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const { ticket } = await issueTicket(s, (await s.login('maker@example.com')).accessToken, '/api')
  await assertTicketTokens(s, await exchange(s, ticket, '/api'), 'maker@example.com')
})

test('the ticket token lifetime follows TICKET_TOKEN_TTL, not ACCESS_TOKEN_TTL', async (t) => {
  const s = await startTestApp(t, { TICKET_TOKEN_TTL: '86400', ACCESS_TOKEN_TTL: '3600' })
  await s.createUser('maker@example.com')
  const login = await s.login('maker@example.com')
  assert.equal(login.expiresIn, 3600)
  const res = await exchange(s, (await issueTicket(s, login.accessToken)).ticket)
  assert.equal(res.statusCode, 200)
  assert.equal(res.json().expiresIn, 86400)
  assert.equal(res.json().refreshExpiresIn, 86400)
})

test('a ticket is single-use', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const { ticket } = await issueTicket(s, (await s.login('maker@example.com')).accessToken)
  await assertTicketTokens(s, await exchange(s, ticket), 'maker@example.com')
  assertLoginFailed(await exchange(s, ticket), 'second exchange')
})

test('a ticket older than 5 minutes fails', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const { ticket } = await issueTicket(s, (await s.login('maker@example.com')).accessToken)
  s.clock.advance(TICKET_TTL_MS + 1)
  assertLoginFailed(await exchange(s, ticket), 'expired ticket')
})

test('a ticket still works just before its 5 minutes are up', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const { ticket } = await issueTicket(s, (await s.login('maker@example.com')).accessToken)
  s.clock.advance(TICKET_TTL_MS - 1)
  await assertTicketTokens(s, await exchange(s, ticket), 'maker@example.com')
})

test('an unknown ticket fails', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const { ticket } = await issueTicket(s, (await s.login('maker@example.com')).accessToken)
  assertLoginFailed(await exchange(s, 'no-such-ticket'), 'unknown ticket')
  assertLoginFailed(await exchange(s, `${ticket}x`), 'altered ticket')
  // The failures did not touch the real ticket.
  await assertTicketTokens(s, await exchange(s, ticket), 'maker@example.com')
})

test('a ticket of a disabled user fails', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com')
  const { ticket } = await issueTicket(s, (await s.login('maker@example.com')).accessToken)
  const patch = await s.admin({ method: 'PATCH', url: `/admin/v1/users/${user.uid}`, payload: { disabled: true } })
  assert.equal(patch.statusCode, 200)
  assertLoginFailed(await exchange(s, ticket), 'disabled user')
})

test('the ticket token belongs to the user who asked for the ticket', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('a@example.com')
  await s.createUser('b@example.com')
  const a = await issueTicket(s, (await s.login('a@example.com')).accessToken)
  const b = await issueTicket(s, (await s.login('b@example.com')).accessToken)
  await assertTicketTokens(s, await exchange(s, b.ticket), 'b@example.com')
  await assertTicketTokens(s, await exchange(s, a.ticket), 'a@example.com')
})

test('a password change voids tickets not yet exchanged', async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('voided@example.com')
  const { accessToken } = await s.login('voided@example.com')
  const { ticket } = (await s.request({ method: 'GET', url: '/v1/user-service/user/ticket', headers: bearer(accessToken) })).json()
  const patch = await s.admin({ method: 'PATCH', url: `/admin/v1/users/${user.uid}`, payload: { password: 'a brand new password' } })
  assert.equal(patch.statusCode, 200)
  const res = await s.request({ method: 'POST', url: `/v1/user-service/user/ticket/${ticket}`, payload: { ticket } })
  assert.equal(res.statusCode, 400)
  assert.deepEqual(res.json(), { code: 5, error: 'Login failed' })
})
