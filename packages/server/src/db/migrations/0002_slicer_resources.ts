/** Downloadable slicer resources: the software entry and plugin packages, by version. */
import type { Kysely } from 'kysely'
import type { MigrationContext } from './index.ts'

export async function up(db: Kysely<any>, { serialPk }: MigrationContext): Promise<void> {
  await serialPk(db.schema.createTable('slicer_resources'), 'id')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('force_update', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('slicer_resources_type_version', ['type', 'version'])
    .execute()
}
