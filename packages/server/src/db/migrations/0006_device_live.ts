/**
 * What clients poll, kept beside the merged state: `user/bind` and `user/print` then read a
 * few small columns instead of each device's kilobytes of report JSON. Task counts gain a
 * per-user row for all devices, so `total` without a device filter reads a handful of rows.
 */
import { sql, type Kysely } from 'kysely'
import type { MigrationContext } from './index.ts'
import { ALL_DEVICES } from '../../services/tasks.ts'
import { liveFacts } from '../../services/device-state.ts'

export async function up(db: Kysely<any>, _context: MigrationContext): Promise<void> {
  await db.schema.alterTable('devices').addColumn('print_status', 'text', (c) => c.notNull().defaultTo('IDLE')).execute()
  await db.schema.alterTable('devices').addColumn('progress', 'integer').execute()
  await db.schema.alterTable('devices').addColumn('remaining_minutes', 'double precision').execute()
  await db.schema.alterTable('devices').addColumn('live_project_id', 'text', (c) => c.notNull().defaultTo('')).execute()
  const devices = await db.selectFrom('devices').select(['dev_id', 'state']).execute()
  for (const d of devices as { dev_id: string; state: string }[]) {
    await db.updateTable('devices').set(liveFacts(d.state)).where('dev_id', '=', d.dev_id).execute()
  }
  await sql`insert into task_counts (uid, device_id, status, n)
    select uid, ${ALL_DEVICES}, status, sum(n) from task_counts group by uid, status`.execute(db)
}
