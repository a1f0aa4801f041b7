/**
 * `login` through each login policy without a terminal, the token file, refresh, `logout`
 * and `whoami`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { totpCode } from '../../server/src/lib/totp.ts'
import { assertFails, PASSWORD, plainLines, startCli } from './helpers/cli.ts'

test('password policy: login keeps the tokens 0600 in a 0700 directory with their server; whoami answers as that account', async (t) => {
  const cli = await startCli(t)
  const { uid } = await cli.createUser('ada@example.com')

  const r = await cli.run(['login'], { BAMBU_ACCOUNT: 'ada@example.com', BAMBU_PASSWORD: PASSWORD })
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout, '')
  assert.equal(r.stderr, `Logged in to ${cli.baseUrl} as ada@example.com.\n`)

  assert.equal(fs.statSync(cli.tokenDir).mode & 0o777, 0o700)
  assert.equal(fs.statSync(cli.tokenFile).mode & 0o777, 0o600)
  const saved = cli.saved()
  assert.equal(saved.current, cli.baseUrl)
  assert.deepEqual(Object.keys(saved.sessions), [cli.baseUrl])
  const session = saved.sessions[cli.baseUrl]!
  assert.equal(session.account, 'ada@example.com')
  assert.ok(!Number.isNaN(Date.parse(session.savedAt)))
  const profile = await cli.api('/v1/user-service/my/profile', session.accessToken)
  assert.equal(profile.account, 'ada@example.com')

  assert.deepEqual(await cli.json(['whoami']), profile)
  assert.deepEqual(plainLines(await cli.ok(['whoami'])), ['account\tada@example.com', 'name\tada', `uid\t${uid}`, `server\t${cli.baseUrl}`])

  // --json prints who and where, never a token.
  const again = await cli.json(['login', '--account', 'ada@example.com'], { BAMBU_PASSWORD: PASSWORD })
  assert.deepEqual(again, { account: 'ada@example.com', baseUrl: cli.baseUrl })
})

test('email_code policy: the password login mails a code and exits 2 saying how to finish; login --code with the code from the outbox logs in', async (t) => {
  const cli = await startCli(t)
  await cli.createUser('bob@example.com', 'email_code')

  assertFails(
    await cli.run(['login', '--account', 'bob@example.com'], { BAMBU_PASSWORD: PASSWORD }),
    2,
    'error: the server sent a login code to bob@example.com: run `bambu-cloud login --account bob@example.com --code CODE` with it',
  )
  assert.equal(fs.existsSync(cli.tokenFile), false, 'no tokens yet')

  const outbox = await cli.json(['admin', 'outbox', '--account', 'bob@example.com'], { BAMBU_ADMIN_TOKEN: 'cli-test-admin-token-0123456789' })
  assert.equal(outbox.length, 1)
  assert.equal(outbox[0].kind, 'email_code')
  assert.match(outbox[0].code, /^\d{6}$/)
  const code: string = outbox[0].code

  const wrong = code === '000000' ? '111111' : '000000'
  assertFails(await cli.run(['login', '--account', 'bob@example.com', '--code', wrong]), 1, 'error: Incorrect code (code 2, HTTP 400)')
  assert.equal(fs.existsSync(cli.tokenFile), false)

  // No password needed for the second step.
  const r = await cli.run(['login', '--account', 'bob@example.com', '--code', code])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stderr, `Logged in to ${cli.baseUrl} as bob@example.com.\n`)
  assert.equal((await cli.json(['whoami'])).account, 'bob@example.com')
})

test('tfa policy: without --tfa-code it exits 2 saying so; with the authenticator code it logs in', async (t) => {
  const cli = await startCli(t)
  const user = await cli.json(['admin', 'users', 'create', '--account', 'cy@example.com', '--password-env', 'NEW_PASSWORD', '--policy', 'tfa'], {
    BAMBU_ADMIN_TOKEN: 'cli-test-admin-token-0123456789',
    NEW_PASSWORD: PASSWORD,
  })
  assert.equal(user.login_policy, 'tfa')
  assert.match(user.tfa_secret, /^[A-Z2-7]+$/)

  assertFails(
    await cli.run(['login', '--account', 'cy@example.com'], { BAMBU_PASSWORD: PASSWORD }),
    2,
    'error: this account needs an authenticator code: run `bambu-cloud login` again with --tfa-code CODE',
  )
  assert.equal(fs.existsSync(cli.tokenFile), false)

  // The spawned server runs on the real clock, as the authenticator app does.
  const r = await cli.run(['login', '--account', 'cy@example.com', '--tfa-code', totpCode(user.tfa_secret)], { BAMBU_PASSWORD: PASSWORD })
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stderr, `Logged in to ${cli.baseUrl} as cy@example.com.\n`)
  assert.equal(cli.saved().sessions[cli.baseUrl]!.account, 'cy@example.com')
  assert.equal((await cli.json(['whoami'])).account, 'cy@example.com')
})

test('without a terminal nothing is asked: a missing password or account exits 2 naming it; a wrong password exits 1 with the API error', async (t) => {
  const cli = await startCli(t)
  await cli.createUser('ada@example.com')

  assertFails(await cli.run(['login', '--account', 'ada@example.com']), 2, 'error: no password: set BAMBU_PASSWORD (it is never taken on the command line)')
  assertFails(await cli.run(['login'], { BAMBU_PASSWORD: PASSWORD }), 2, 'error: no account: pass --account or set BAMBU_ACCOUNT')
  assertFails(await cli.run(['login', '--account', 'ada@example.com'], { BAMBU_PASSWORD: 'not the password' }), 1, 'error: Incorrect password (code 2, HTTP 400)')
  assert.equal(fs.existsSync(cli.tokenFile), false)

  // Not logged in: the API's refusal, and what to do.
  assertFails(await cli.run(['devices']), 1, 'error: Please login. (code 4, HTTP 401); log in with `bambu-cloud login`')
})

test('a refused access token is refreshed and the new pair saved; logout revokes it on the server and forgets it', async (t) => {
  const cli = await startCli(t)
  await cli.createUser('ada@example.com')
  await cli.login('ada@example.com')
  const before = cli.saved().sessions[cli.baseUrl]!

  // Spoil the access token: the next call gets a 401, refreshes and goes on.
  const data = cli.saved()
  data.sessions[cli.baseUrl]!.accessToken = 'not-a-token-at-all-0123456789abcdef'
  fs.writeFileSync(cli.tokenFile, JSON.stringify(data))
  assert.equal((await cli.json(['whoami'])).account, 'ada@example.com')
  const after = cli.saved().sessions[cli.baseUrl]!
  assert.notEqual(after.accessToken, before.accessToken)
  assert.notEqual(after.accessToken, 'not-a-token-at-all-0123456789abcdef')
  assert.notEqual(after.refreshToken, before.refreshToken)
  assert.equal(after.account, 'ada@example.com')
  assert.equal(fs.statSync(cli.tokenFile).mode & 0o777, 0o600, 'still 0600 after the rewrite')
  await cli.api('/v1/user-service/my/profile', after.accessToken)

  const out = await cli.run(['logout'])
  assert.equal(out.code, 0, out.stderr)
  assert.equal(out.stderr, `Logged out of ${cli.baseUrl} (ada@example.com).\n`)
  assert.equal(fs.existsSync(cli.tokenFile), false)
  const revoked = await fetch(`${cli.baseUrl}/v1/user-service/my/profile`, { headers: { authorization: `Bearer ${after.accessToken}` } })
  assert.equal(revoked.status, 401)

  assertFails(await cli.run(['whoami']), 1, 'error: Please login. (code 4, HTTP 401); log in with `bambu-cloud login`')
  const twice = await cli.run(['logout'])
  assert.equal(twice.code, 0)
  assert.equal(twice.stderr, `Not logged in to ${cli.baseUrl}.\n`)
})

test('logins are kept per server; without a base URL the latest login’s server is used', async (t) => {
  const cli = await startCli(t)
  await cli.createUser('ada@example.com')
  await cli.createUser('bob@example.com')
  // The same server under its /api prefix is another base URL, with a login of its own.
  const prefixed = `${cli.baseUrl}/api`
  await cli.ok(['login', '--account', 'ada@example.com'], { BAMBU_PASSWORD: PASSWORD })
  await cli.ok(['login', '--base-url', `${prefixed}/`, '--account', 'bob@example.com'], { BAMBU_PASSWORD: PASSWORD })

  const saved = cli.saved()
  assert.equal(saved.current, prefixed, 'kept without the trailing slash')
  assert.deepEqual(Object.keys(saved.sessions).sort(), [cli.baseUrl, prefixed].sort())
  assert.equal((await cli.json(['whoami'])).account, 'ada@example.com', 'BAMBU_BASE_URL picks the login')
  assert.equal((await cli.json(['whoami', '--base-url', prefixed])).account, 'bob@example.com')
  assert.equal((await cli.json(['whoami'], { BAMBU_BASE_URL: undefined })).account, 'bob@example.com', 'the latest login')

  await cli.ok(['logout', '--base-url', prefixed])
  assert.deepEqual(Object.keys(cli.saved().sessions), [cli.baseUrl])
  assert.equal(cli.saved().current, cli.baseUrl)
  assert.equal((await cli.json(['whoami'], { BAMBU_BASE_URL: undefined })).account, 'ada@example.com')
})
