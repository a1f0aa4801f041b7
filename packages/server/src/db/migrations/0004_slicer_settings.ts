/**
 * Slicer presets ("settings"): the public catalog (no owner) and each user's own presets.
 * A deleted preset keeps its row, so its id reads back as gone and DELETE stays idempotent.
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('slicer_settings')
    .addColumn('setting_id', 'text', (c) => c.primaryKey())
    // Null for the public catalog.
    .addColumn('owner_uid', 'bigint', (c) => c.references('users.uid').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('nickname', 'text')
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('base_id', 'text')
    .addColumn('filament_id', 'text')
    // The preset's JSON object, returned as stored.
    .addColumn('setting', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('deleted_at', 'bigint')
    .execute()
  await db.schema.createIndex('slicer_settings_owner_type').on('slicer_settings').columns(['owner_uid', 'type']).execute()
}
