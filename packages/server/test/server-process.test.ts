import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { sql } from 'kysely'
import { openDatabase } from '../src/db/database.ts'
import { createTestDatabase } from './helpers/database.ts'
import { runServerToExit, startServer } from './helpers/process.ts'

async function fresh(t: TestContext) {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  return db
}

test('first start generates an admin token, prints it once, keeps it 0600 in DATA_DIR', async (t) => {
  const db = await fresh(t)
  const env = { DATA_DIR: db.dataDir, DATABASE_URL: db.url }
  const first = await startServer(env)
  t.after(() => first.stop('SIGKILL'))
  const file = path.join(db.dataDir, 'admin-token')
  const token = fs.readFileSync(file, 'utf8').trim()
  assert.ok(token.length >= 32)
  assert.equal(fs.statSync(file).mode & 0o777, 0o600)
  assert.ok(first.stdout().includes(token), 'printed on the start that created it')

  const health = await fetch(first.url('/healthz'))
  assert.equal(health.status, 200)
  assert.deepEqual(await health.json(), { status: 'ok' })

  const users = await fetch(first.url('/admin/v1/users'), { headers: { authorization: `Bearer ${token}` } })
  assert.equal(users.status, 200)
  const denied = await fetch(first.url('/admin/v1/users'), { headers: { authorization: 'Bearer nope' } })
  assert.equal(denied.status, 401)
  assert.equal(await first.stop(), 0)

  const second = await startServer(env)
  t.after(() => second.stop('SIGKILL'))
  assert.ok(!second.stdout().includes(token), 'not printed again')
  assert.equal(fs.readFileSync(file, 'utf8').trim(), token)
  assert.equal(await second.stop(), 0)
})

test('SIGTERM finishes the in-flight request, then exits 0', async (t) => {
  const db = await fresh(t)
  const server = await startServer({ DATA_DIR: db.dataDir, DATABASE_URL: db.url, ADMIN_TOKEN: 'process-admin-token-0123456789' })
  t.after(() => server.stop('SIGKILL'))
  const body = JSON.stringify({ account: 'late@example.com', password: 'long enough password' })
  // Send the headers and half the body, signal, then send the rest: the request was in flight.
  const socket = net.connect(server.port, '127.0.0.1')
  await new Promise((r) => socket.once('connect', r))
  let response = ''
  socket.on('data', (c) => (response += c.toString()))
  const closed = new Promise((r) => socket.once('close', r))
  socket.write(
    `POST /admin/v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer process-admin-token-0123456789\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` +
      body.slice(0, 10),
  )
  await new Promise((r) => setTimeout(r, 200))
  server.child.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 300))
  assert.equal(server.child.exitCode, null, 'still running while a request is in flight')
  socket.write(body.slice(10))
  await closed
  assert.match(response, /^HTTP\/1\.1 201/)
  assert.match(response, /"account":"late@example.com"/)
  assert.equal(await server.exited, 0)
  assert.match(server.stdout(), /shutting down/)
})

test('a bad configuration value stops the start with one line naming the variable', async (t) => {
  const db = await fresh(t)
  const cases: [Record<string, string>, string][] = [
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://localhost/db' }, 'DATABASE_URL'],
    [{ PUBLIC_URL: 'ftp://example.org' }, 'PUBLIC_URL'],
    [{ TOKEN_FORMAT: 'paseto' }, 'TOKEN_FORMAT'],
    [{ ACCESS_TOKEN_TTL: '-5' }, 'ACCESS_TOKEN_TTL'],
    [{ CORS_ORIGINS: 'not a url' }, 'CORS_ORIGINS'],
    [{ LOGIN_FAILURES_PER_ACCOUNT: '0' }, 'LOGIN_FAILURES_PER_ACCOUNT'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
  ]
  for (const [env, name] of cases) {
    const res = await runServerToExit({ DATA_DIR: db.dataDir, DATABASE_URL: db.url, ...env })
    assert.equal(res.code, 1, name)
    const lines = res.stderr.trim().split('\n')
    assert.equal(lines.length, 1, `one line: ${res.stderr}`)
    assert.match(lines[0]!, new RegExp(`\\b${name}\\b`))
    assert.ok(!/\n\s+at /.test(res.stderr), 'no stack trace')
  }
})

test('two processes migrating one fresh database at the same time both come up', async (t) => {
  const db = await fresh(t)
  const env = { DATA_DIR: db.dataDir, DATABASE_URL: db.url, ADMIN_TOKEN: 'process-admin-token-0123456789' }
  const [a, b] = await Promise.all([startServer(env), startServer(env)])
  t.after(() => a.stop('SIGKILL'))
  t.after(() => b.stop('SIGKILL'))
  for (const server of [a, b]) {
    const res = await fetch(server.url('/healthz'))
    assert.equal(res.status, 200)
  }
  // Both see one database: a user made through one logs in through the other.
  const created = await fetch(a.url('/admin/v1/users'), {
    method: 'POST',
    headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ account: 'both@example.com', password: 'long enough password' }),
  })
  assert.equal(created.status, 201)
  const login = await fetch(b.url('/v1/user-service/user/login'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ account: 'both@example.com', password: 'long enough password' }),
  })
  assert.equal(login.status, 200)
  assert.equal(await a.stop(), 0)
  assert.equal(await b.stop(), 0)
  const handle = openDatabase(db.url)
  t.after(() => handle.db.destroy())
  const applied = await sql<{ name: string }>`select name from schema_migrations`.execute(handle.db)
  const names = applied.rows.map((r) => r.name)
  assert.deepEqual(names, [...new Set(names)], 'each migration applied once')
  assert.ok(names.length >= 1)
})
