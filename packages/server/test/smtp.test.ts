import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { PASSWORD, startTestApp } from './helpers/app.ts'

interface Received {
  to: string[]
  data: string
}

async function mailServer(t: import('node:test').TestContext) {
  const received: Received[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      let data = ''
      stream.on('data', (c: Buffer) => (data += c.toString()))
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), data })
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port
  return { port, received }
}

test('with SMTP configured, login codes are mailed and not kept in the outbox', async (t) => {
  const mail = await mailServer(t)
  const s = await startTestApp(t, { SMTP_URL: `smtp://127.0.0.1:${mail.port}`, SMTP_FROM: 'cloud@example.org' })
  await s.createUser('mailbox@example.com', { login_policy: 'email_code' })
  const res = await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'mailbox@example.com', password: PASSWORD } })
  assert.equal(res.json().loginType, 'verifyCode')
  assert.equal(mail.received.length, 1)
  assert.deepEqual(mail.received[0]!.to, ['mailbox@example.com'])
  const code = /verification code is (\d{6})/.exec(mail.received[0]!.data)?.[1]
  assert.ok(code, 'the mail carries the code')

  const outbox = await s.admin({ method: 'GET', url: '/admin/v1/outbox?account=mailbox@example.com' })
  assert.deepEqual(outbox.json(), { messages: [] })

  const login = await s.request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account: 'mailbox@example.com', code } })
  assert.equal(login.statusCode, 200)
  assert.equal(typeof login.json().accessToken, 'string')
  assert.ok(login.json().accessToken.length > 0)
})

test('an unreachable mail server is a 503 envelope, not a crash', async (t) => {
  const s = await startTestApp(t, { SMTP_URL: 'smtp://127.0.0.1:9' })
  await s.createUser('mailbox@example.com', { login_policy: 'email_code' })
  const res = await s.request({ method: 'POST', url: '/v1/user-service/user/sendemail/code', payload: { email: 'mailbox@example.com', type: 'codeLogin' } })
  assert.equal(res.statusCode, 503)
  assert.deepEqual(res.json(), { code: 1012, error: 'Service unavailable', message: 'The code could not be sent; try again later' })
  const health = await s.request({ method: 'GET', url: '/healthz' })
  assert.equal(health.statusCode, 200)
})
