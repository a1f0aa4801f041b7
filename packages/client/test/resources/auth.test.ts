import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TicketReply, TokenReply } from '@bambu-cloud/protocol'
import { AuthenticationError, BadRequestError, BambuCloud, type LoginResult, type Ticket, type Tokens } from '@bambu-cloud/client'
import { PASSWORD, authenticatorCode } from '../../../server/test/helpers/app.ts'
import { assertSchema, clientOf, expectType, loggedIn, startCloud, type Cloud } from '../helpers/cloud.ts'

/** Asserts a `tokens` result with its wire fields and that the client now acts as `account`. */
async function assertLoggedIn(cloud: Cloud, client: BambuCloud, result: LoginResult, accessMethod: string, account: string): Promise<Tokens> {
  assert.equal(result.kind, 'tokens')
  if (result.kind !== 'tokens') throw new Error('unreachable')
  assertSchema(TokenReply, result, 'tokens')
  assert.deepEqual(Object.keys(result).sort(), ['accessMethod', 'accessToken', 'expiresIn', 'kind', 'loginType', 'refreshExpiresIn', 'refreshToken', 'success', 'tfaKey'])
  assert.equal(result.accessMethod, accessMethod)
  assert.equal(result.expiresIn, cloud.s.config.accessTokenTtl)
  assert.equal(result.refreshExpiresIn, cloud.s.config.accessTokenTtl)
  assert.ok(result.accessToken.length >= 32)
  assert.equal(client.accessToken, result.accessToken)
  assert.equal(client.refreshToken, result.refreshToken)
  assert.equal((await client.user.profile()).account, account, 'the client uses the new tokens from then on')
  return result
}

async function outboxSize(cloud: Cloud, account: string): Promise<number> {
  const res = await cloud.s.admin({ method: 'GET', url: `/admin/v1/outbox?account=${encodeURIComponent(account)}` })
  return res.json().messages.length
}

test('auth.login with a password: tokens, handed to onTokens, used from then on', async (t) => {
  const cloud = await startCloud(t)
  await cloud.s.createUser('ada@example.com')
  const { client, tokens, requests } = clientOf(cloud)
  assert.equal(client.accessToken, undefined)
  const result = expectType<LoginResult>(await client.auth.login({ account: 'ada@example.com', password: PASSWORD }))
  const got = await assertLoggedIn(cloud, client, result, 'password', 'ada@example.com')
  assert.deepEqual(tokens, [got])
  assert.deepEqual(requests.map((r) => `${r.method} ${r.url}`), ['POST /v1/user-service/user/login', 'GET /v1/user-service/my/profile'])
})

test('auth.login with a wrong password rejects with BadRequestError code 2, and the password is nowhere in it', async (t) => {
  const cloud = await startCloud(t)
  await cloud.s.createUser('ada@example.com')
  const { client, tokens } = clientOf(cloud)
  const err = await client.auth.login({ account: 'ada@example.com', password: 'not-the-password-xyz' }).catch((e: unknown) => e)
  assert.ok(err instanceof BadRequestError)
  assert.equal(err.status, 400)
  assert.equal(err.code, 2)
  assert.equal(err.error, 'Incorrect password')
  assert.doesNotMatch(`${err.message} ${err.stack} ${JSON.stringify(err.body)}`, /not-the-password-xyz/)
  assert.deepEqual(tokens, [])
  assert.equal(client.accessToken, undefined)
})

test('email_code policy: login says verifyCode, loginWithCode with the mailed code logs in; sendEmailCode sends another', async (t) => {
  const cloud = await startCloud(t)
  const account = 'coded@example.com'
  await cloud.s.createUser(account, { login_policy: 'email_code' })
  const { client, tokens } = clientOf(cloud)
  const first = expectType<LoginResult>(await client.auth.login({ account, password: PASSWORD }))
  assert.deepEqual(first, { kind: 'verifyCode' })
  assert.equal(client.accessToken, undefined)
  assert.equal(await outboxSize(cloud, account), 1)

  expectType<void>(await client.auth.sendEmailCode({ email: account }))
  assert.equal(await outboxSize(cloud, account), 2)
  const code = await cloud.s.latestCode(account)
  const result = await client.auth.loginWithCode({ account, code })
  const got = await assertLoggedIn(cloud, client, result, 'code', account)
  assert.deepEqual(tokens, [got])
})

test('auth.loginWithCode with a wrong code rejects with code 2 and keeps no tokens', async (t) => {
  const cloud = await startCloud(t)
  const account = 'coded@example.com'
  await cloud.s.createUser(account, { login_policy: 'email_code' })
  const { client } = clientOf(cloud)
  await client.auth.sendEmailCode({ email: account })
  const code = await cloud.s.latestCode(account)
  const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0')
  await assert.rejects(client.auth.loginWithCode({ account, code: wrong }), (err) => err instanceof BadRequestError && err.code === 2)
  assert.equal(client.accessToken, undefined)
})

test('auth.sendSmsCode sends a code (type codeLogin) that logs in', async (t) => {
  const cloud = await startCloud(t)
  const account = 'texted@example.com'
  await cloud.s.createUser(account)
  const { client } = clientOf(cloud)
  assert.equal(await outboxSize(cloud, account), 0)
  expectType<void>(await client.auth.sendSmsCode({ phone: account }))
  const outbox = (await cloud.s.admin({ method: 'GET', url: `/admin/v1/outbox?account=${account}` })).json().messages
  assert.equal(outbox.length, 1)
  assert.equal(outbox[0].kind, 'sms_code')
  await assertLoggedIn(cloud, client, await client.auth.loginWithCode({ account, code: outbox[0].code }), 'code', account)
})

test('tfa policy: login says tfa with a key; loginWithTfa with the authenticator code at the server’s clock logs in', async (t) => {
  const cloud = await startCloud(t)
  const account = 'guarded@example.com'
  const { tfa_secret } = await cloud.s.createUser(account, { login_policy: 'tfa' })
  const { client, tokens } = clientOf(cloud)
  const first = await client.auth.login({ account, password: PASSWORD })
  assert.equal(first.kind, 'tfa')
  if (first.kind !== 'tfa') return
  assert.deepEqual(Object.keys(first).sort(), ['kind', 'tfaKey'])
  assert.equal(typeof first.tfaKey, 'string')
  assert.ok(first.tfaKey.length > 0)
  assert.equal(client.accessToken, undefined)

  const result = expectType<Tokens>(await client.auth.loginWithTfa({ tfaKey: first.tfaKey, tfaCode: authenticatorCode(tfa_secret!, cloud.s.clock) }))
  const got = await assertLoggedIn(cloud, client, result, 'tfa', account)
  assert.deepEqual(tokens, [got])
})

test('auth.refresh rotates the tokens, hands them to onTokens, and the new access token works', async (t) => {
  const cloud = await startCloud(t)
  const { client, tokens } = await loggedIn(cloud)
  const before = tokens[0]!
  const rotated = expectType<Tokens>(await client.auth.refresh())
  assertSchema(TokenReply, rotated)
  assert.equal(rotated.kind, 'tokens')
  assert.notEqual(rotated.accessToken, before.accessToken)
  assert.notEqual(rotated.refreshToken, before.refreshToken)
  assert.deepEqual(tokens, [before, rotated])
  assert.equal(client.accessToken, rotated.accessToken)
  assert.equal(client.refreshToken, rotated.refreshToken)
  assert.equal((await client.user.profile()).account, 'ada@example.com')
})

test('a stale access token is refreshed once on its 401 with the stored refresh token, then the call succeeds', async (t) => {
  const cloud = await startCloud(t)
  await cloud.s.createUser('ada@example.com')
  const { refreshToken } = await cloud.s.login('ada@example.com')
  const { client, tokens, requests } = clientOf(cloud, { accessToken: 'expired-or-revoked-token-000000000000', refreshToken })
  const profile = await client.user.profile()
  assert.equal(profile.account, 'ada@example.com')
  assert.deepEqual(requests.map((r) => `${r.method} ${r.url}`), [
    'GET /v1/user-service/my/profile',
    'POST /v1/user-service/user/refreshtoken',
    'GET /v1/user-service/my/profile',
  ])
  assert.equal(tokens.length, 1)
  assert.equal(client.accessToken, tokens[0]!.accessToken)
})

test('auth.logout revokes the login and forgets the tokens', async (t) => {
  const cloud = await startCloud(t)
  const { client } = await loggedIn(cloud)
  const { accessToken } = client
  expectType<void>(await client.auth.logout())
  assert.equal(client.accessToken, undefined)
  assert.equal(client.refreshToken, undefined)
  const old = new BambuCloud({ baseUrl: cloud.baseUrl, accessToken, maxRetries: 0 })
  await assert.rejects(old.user.profile(), (err) => err instanceof AuthenticationError && err.code === 4)
  await assert.rejects(client.user.profile(), AuthenticationError)
})

test('auth.ticket issues a sign-on ticket that another client trades for tokens with exchangeTicket', async (t) => {
  const cloud = await startCloud(t)
  const { client } = await loggedIn(cloud)
  const ticket = expectType<Ticket>(await client.auth.ticket())
  assertSchema(TicketReply, ticket)
  assert.deepEqual(Object.keys(ticket).sort(), ['pincode', 'ticket'])
  assert.ok(ticket.ticket.length > 0)

  const { client: slicer, tokens } = clientOf(cloud)
  const got = expectType<Tokens>(await slicer.auth.exchangeTicket(ticket.ticket))
  assert.equal(got.kind, 'tokens')
  assert.equal(got.accessMethod, 'ticket')
  assert.equal(got.expiresIn, cloud.s.config.ticketTokenTtl)
  assert.deepEqual(tokens, [got])
  assert.equal((await slicer.user.profile()).account, 'ada@example.com')
  // Single use.
  await assert.rejects(clientOf(cloud).client.auth.exchangeTicket(ticket.ticket), BadRequestError)
})
