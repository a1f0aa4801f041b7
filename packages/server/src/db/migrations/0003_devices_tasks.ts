/**
 * Printers and what they print: devices (with their merged live state), tasks, messages,
 * per-user camera codes, and the firmware catalog.
 */
import { sql, type Kysely } from 'kysely'
import type { MigrationContext } from './index.ts'

/** The first task id: nine digits, like the ids clients are used to; far below 2^53. */
export const FIRST_TASK_ID = 100_000_001

export async function up(db: Kysely<any>, { dialect, serialPk }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('devices')
    .addColumn('dev_id', 'text', (c) => c.primaryKey())
    .addColumn('owner_uid', 'bigint', (c) => c.references('users.uid').onDelete('set null'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('dev_model_name', 'text', (c) => c.notNull())
    .addColumn('dev_product_name', 'text', (c) => c.notNull())
    .addColumn('dev_access_code', 'text', (c) => c.notNull())
    .addColumn('dev_structure', 'text', (c) => c.notNull())
    .addColumn('nozzle_diameter', 'double precision', (c) => c.notNull())
    .addColumn('firmware_version', 'text')
    .addColumn('online', 'integer', (c) => c.notNull())
    // The latest printer report, merged: P1/A1 printers send only what changed.
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('current_task_id', 'bigint')
    .addColumn('bound_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('devices_owner').on('devices').column('owner_uid').execute()

  await serialPk(db.schema.createTable('tasks'), 'id')
    .addColumn('uid', 'bigint', (c) => c.notNull().references('users.uid').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('cover', 'text')
    .addColumn('model_id', 'text', (c) => c.notNull())
    .addColumn('profile_id', 'bigint', (c) => c.notNull())
    .addColumn('plate_index', 'integer', (c) => c.notNull())
    .addColumn('design_id', 'bigint', (c) => c.notNull())
    .addColumn('weight', 'double precision', (c) => c.notNull())
    .addColumn('length', 'double precision', (c) => c.notNull())
    .addColumn('cost_time', 'double precision', (c) => c.notNull())
    .addColumn('device_model', 'text', (c) => c.notNull())
    .addColumn('device_name', 'text', (c) => c.notNull())
    .addColumn('start_time', 'bigint')
    .addColumn('end_time', 'bigint')
    // A print started on the LAN is known by its file name and start time.
    .addColumn('lan_key', 'text')
    // Fields the API does not define (Studio's bedType, amsMapping, ...), kept as sent.
    .addColumn('extra', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  if (dialect === 'sqlite') {
    await sql`insert into sqlite_sequence (name, seq) values ('tasks', ${FIRST_TASK_ID - 1})`.execute(db)
  } else {
    await sql`alter table tasks alter column id restart with ${sql.lit(FIRST_TASK_ID)}`.execute(db)
  }
  // Newest-first pages per user, optionally per device and status, walk these backwards.
  await db.schema.createIndex('tasks_uid_id').on('tasks').columns(['uid', 'id']).execute()
  await db.schema.createIndex('tasks_uid_device_id').on('tasks').columns(['uid', 'device_id', 'id']).execute()
  await db.schema.createIndex('tasks_uid_status_id').on('tasks').columns(['uid', 'status', 'id']).execute()
  await db.schema.createIndex('tasks_lan').on('tasks').columns(['uid', 'device_id', 'lan_key']).execute()

  // Task counts kept per user, device and status, so `total` stays cheap at millions of tasks.
  await db.schema
    .createTable('task_counts')
    .addColumn('uid', 'bigint', (c) => c.notNull().references('users.uid').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('n', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('task_counts_pk', ['uid', 'device_id', 'status'])
    .execute()

  await serialPk(db.schema.createTable('messages'), 'id')
    .addColumn('uid', 'bigint', (c) => c.notNull().references('users.uid').onDelete('cascade'))
    .addColumn('type', 'integer', (c) => c.notNull())
    .addColumn('task_id', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('messages_uid_id').on('messages').columns(['uid', 'id']).execute()
  await db.schema.createIndex('messages_uid_type_id').on('messages').columns(['uid', 'type', 'id']).execute()

  await db.schema
    .createTable('ttcodes')
    .addColumn('uid', 'bigint', (c) => c.notNull().references('users.uid').onDelete('cascade'))
    .addColumn('dev_id', 'text', (c) => c.notNull())
    .addColumn('ttcode', 'text', (c) => c.notNull())
    .addColumn('passwd', 'text', (c) => c.notNull())
    .addColumn('authkey', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('ttcodes_pk', ['uid', 'dev_id'])
    .execute()

  await serialPk(db.schema.createTable('firmware'), 'id')
    .addColumn('dev_model_name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('force_update', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('firmware_model_version', ['dev_model_name', 'version'])
    .execute()
}
