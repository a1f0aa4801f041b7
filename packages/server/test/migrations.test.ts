/**
 * Upgrading a database that holds data: migrations written against an older schema still
 * carry its rows forward (0006 derives the live columns from each device's stored state).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sql, type Kysely } from 'kysely'
import { openDatabase } from '../src/db/database.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import { MIGRATIONS, migrationContext } from '../src/db/migrations/index.ts'
import { createTestDatabase } from './helpers/database.ts'

test('upgrading from 0005 backfills each device\'s live columns from its state and adds all-device task counts', async (t) => {
  const testDb = await createTestDatabase()
  const handle = openDatabase(testDb.url)
  t.after(async () => {
    await handle.db.destroy()
    await testDb.drop()
  })
  const db = handle.db as unknown as Kysely<any>

  // The database as a server that knew migrations up to 0005 left it.
  await sql`create table schema_migrations (name text primary key, applied_at bigint not null)`.execute(db)
  const context = migrationContext(handle.dialect)
  const old = MIGRATIONS.slice(0, MIGRATIONS.findIndex(([name]) => name === '0006_device_live'))
  for (const [name, migration] of old) {
    await migration.up(db, context)
    await db.insertInto('schema_migrations').values({ name, applied_at: 1 }).execute()
  }
  const { uid } = await db
    .insertInto('users')
    .values({ account: 'old@example.com', name: 'old', password_hash: 'x', created_at: 1, updated_at: 1 })
    .returning('uid')
    .executeTakeFirstOrThrow()
  const device = (dev_id: string, state: string) => ({
    dev_id,
    owner_uid: uid,
    name: dev_id,
    dev_model_name: 'BL-P001',
    dev_product_name: 'X1 Carbon',
    dev_access_code: '12345678',
    dev_structure: '',
    nozzle_diameter: 0.4,
    online: 0,
    state,
    created_at: 1,
    updated_at: 1,
  })
  await db
    .insertInto('devices')
    .values([
      device('RUN', JSON.stringify({ print: { gcode_state: 'RUNNING', mc_percent: '42.6', mc_remaining_time: 17, project_id: 123 } })),
      device('DONE', JSON.stringify({ print: { gcode_state: 'FINISH', mc_percent: 130, mc_remaining_time: 'soon', project_id: 'p-9' } })),
      device('PREP', JSON.stringify({ print: { gcode_state: 'PREPARE', mc_percent: -5 } })),
      device('EMPTY', '{}'),
      device('BROKEN', 'not json'),
    ])
    .execute()
  await db
    .insertInto('task_counts')
    .values([
      { uid, device_id: 'RUN', status: 2, n: 3 },
      { uid, device_id: 'DONE', status: 2, n: 4 },
      { uid, device_id: 'DONE', status: 3, n: 1 },
    ])
    .execute()

  assert.deepEqual(await migrateToLatest(handle), MIGRATIONS.slice(old.length).map(([name]) => name))

  const live = await db
    .selectFrom('devices')
    .select(['dev_id', 'print_status', 'progress', 'remaining_minutes', 'live_project_id'])
    .orderBy('dev_id')
    .execute()
  assert.deepEqual(live, [
    { dev_id: 'BROKEN', print_status: 'IDLE', progress: null, remaining_minutes: null, live_project_id: '' },
    { dev_id: 'DONE', print_status: 'SUCCESS', progress: 100, remaining_minutes: null, live_project_id: 'p-9' },
    { dev_id: 'EMPTY', print_status: 'IDLE', progress: null, remaining_minutes: null, live_project_id: '' },
    { dev_id: 'PREP', print_status: 'RUNNING', progress: 0, remaining_minutes: null, live_project_id: '' },
    { dev_id: 'RUN', print_status: 'RUNNING', progress: 43, remaining_minutes: 17, live_project_id: '123' },
  ])
  const counts = await db.selectFrom('task_counts').select(['device_id', 'status', 'n']).where('uid', '=', uid).orderBy('device_id').orderBy('status').execute()
  assert.deepEqual(counts, [
    { device_id: '*', status: 2, n: 7 },
    { device_id: '*', status: 3, n: 1 },
    { device_id: 'DONE', status: 2, n: 4 },
    { device_id: 'DONE', status: 3, n: 1 },
    { device_id: 'RUN', status: 2, n: 3 },
  ])
})
