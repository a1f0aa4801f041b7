import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { loadSecretsKey } from '../src/data-dir.ts'
import { openDatabase } from '../src/db/database.ts'
import { createTestDatabase } from './helpers/database.ts'
import { startTestApp } from './helpers/app.ts'

test('/healthz is 200 {"status":"ok"} on a migrated database', async (t) => {
  const s = await startTestApp(t)
  const res = await s.request({ method: 'GET', url: '/healthz' })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { status: 'ok' })
})

test('/healthz is 503 when the database is not migrated, and when it is unreachable', async (t) => {
  const tdb = await createTestDatabase()
  const config = loadConfig({ DATA_DIR: tdb.dataDir, DATABASE_URL: tdb.url })
  const database = openDatabase(config.databaseUrl)
  const app = await buildApp({ config, database, adminToken: 'health-admin-token-0123456789', secretsKey: loadSecretsKey(config), logger: false })
  t.after(async () => {
    await app.close()
    await tdb.drop()
  })
  const unmigrated = await app.inject({ method: 'GET', url: '/healthz' })
  assert.equal(unmigrated.statusCode, 503)
  assert.equal(unmigrated.json().status, 'unavailable')

  await database.db.destroy()
  const gone = await app.inject({ method: 'GET', url: '/healthz' })
  assert.equal(gone.statusCode, 503)
})
