/** `bambu-cloud serve`: the server as `npm start` runs it, signals passed on, its exit code kept. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestDatabase } from '../../server/test/helpers/database.ts'
import { ADMIN_TOKEN, spawnCli } from './helpers/cli.ts'

/** Resolves when `read()` matches `pattern`; rejects if the process exits first or after `ms`. */
function waitFor(read: () => string, pattern: RegExp, exited: Promise<unknown>, ms = 30_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let done = false
    const timer = setTimeout(() => finish(new Error(`no ${pattern} in time:\n${read()}`)), ms)
    const poll = setInterval(() => {
      const m = pattern.exec(read())
      if (m) finish(null, m)
    }, 25)
    exited.then(() => finish(new Error(`exited before ${pattern}:\n${read()}`)))
    function finish(err: Error | null, m?: RegExpExecArray) {
      if (done) return
      done = true
      clearTimeout(timer)
      clearInterval(poll)
      if (err) reject(err)
      else resolve(m!)
    }
  })
}

test('serve starts the server: it answers /healthz, and SIGTERM stops it gracefully with exit 0', async (t) => {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  const cli = spawnCli(['serve'], { PATH: process.env.PATH, DATA_DIR: db.dataDir, DATABASE_URL: db.url, ADMIN_TOKEN, HOST: '127.0.0.1', PORT: '0' })
  t.after(() => cli.child.kill('SIGKILL'))

  const [, serverPid, port] = await waitFor(cli.stdout, /"pid":(\d+).*Server listening at http:\/\/127\.0\.0\.1:(\d+)/, cli.exited)
  // Should serve fail to pass the signal on, its server must not outlive the test.
  t.after(() => {
    try {
      process.kill(Number(serverPid), 'SIGKILL')
    } catch {
      // already gone, as it should be
    }
  })
  const health = await fetch(`http://127.0.0.1:${port}/healthz`)
  assert.equal(health.status, 200)
  assert.deepEqual(await health.json(), { status: 'ok' })
  const users = await fetch(`http://127.0.0.1:${port}/admin/v1/users`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  assert.equal(users.status, 200, 'the environment reached the server')

  cli.child.kill('SIGTERM')
  assert.equal(await cli.exited, 0)
  assert.match(cli.stdout(), /"signal":"SIGTERM".*"msg":"shutting down"/, 'the server got the signal and shut down')
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'nothing listens any more')
})

test('serve exits with the server’s exit code (a bad setting: 1, with the server’s message)', async (t) => {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  const cli = spawnCli(['serve'], { PATH: process.env.PATH, DATA_DIR: db.dataDir, DATABASE_URL: db.url, ADMIN_TOKEN, PORT: 'not-a-port' })
  t.after(() => cli.child.kill('SIGKILL'))
  assert.equal(await cli.exited, 1)
  assert.match(cli.stderr(), /^bambu-cloud: configuration error: .*PORT/m)
})
