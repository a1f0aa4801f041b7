/**
 * The LAN bridge: a printer the cloud cannot reach directly (stock firmware only trusts the
 * vendor's cloud) is reached on its own network instead, at `lan_ip`. Its self-signed
 * certificate is pinned on the first successful connection (`lan_cert_sha256`). A task the
 * printer refused, or that never reached it, keeps the reason (`tasks.fail_reason`).
 */
import type { Kysely } from 'kysely'
import type { MigrationContext } from './index.ts'

export async function up(db: Kysely<any>, _context: MigrationContext): Promise<void> {
  await db.schema.alterTable('devices').addColumn('lan_ip', 'text').execute()
  await db.schema.alterTable('devices').addColumn('lan_mqtt_port', 'integer', (c) => c.notNull().defaultTo(8883)).execute()
  await db.schema.alterTable('devices').addColumn('lan_ftps_port', 'integer', (c) => c.notNull().defaultTo(990)).execute()
  await db.schema.alterTable('devices').addColumn('lan_cert_sha256', 'text').execute()
  await db.schema.alterTable('tasks').addColumn('fail_reason', 'text').execute()
}
