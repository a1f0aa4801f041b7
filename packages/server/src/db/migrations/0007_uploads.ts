/**
 * The upload flow: what each ticket's file is and where it went (stored, notified,
 * processed or why not), the project's own file, and the print-ready 3MF per plate that
 * a slicer uploads after the project file (`user/upload`, then `PATCH user/project`).
 * Tasks gain an index by plate: processing fills in tasks created before it finished.
 */
import type { Kysely } from 'kysely'
import type { MigrationContext } from './index.ts'

export async function up(db: Kysely<any>, { serialPk }: MigrationContext): Promise<void> {
  for (const [column, type] of [
    ['blob_key', 'text'],
    ['size', 'bigint'],
    ['md5', 'text'],
    ['file_name', 'text'],
    ['uploaded_at', 'bigint'],
    ['notified_at', 'bigint'],
    ['error', 'text'],
  ] as const) {
    await db.schema.alterTable('upload_tickets').addColumn(column, type).execute()
  }
  await db.schema.createIndex('upload_tickets_status').on('upload_tickets').columns(['status', 'created_at']).execute()
  await db.schema.createIndex('upload_tickets_blob_key').on('upload_tickets').column('blob_key').unique().execute()

  await db.schema.alterTable('projects').addColumn('download_url', 'text').execute()
  await db.schema.alterTable('projects').addColumn('download_md5', 'text').execute()

  await serialPk(db.schema.createTable('print_files'), 'id')
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.project_id').onDelete('cascade'))
    .addColumn('profile_id', 'bigint', (c) => c.notNull().references('project_profiles.profile_id').onDelete('cascade'))
    // The plate its upload URL was made for; `PATCH` may attach it to another.
    .addColumn('plate_index', 'integer', (c) => c.notNull())
    .addColumn('blob_key', 'text', (c) => c.notNull().unique())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('md5', 'text', (c) => c.notNull())
    // The entry holding the plate's G-code, when the file has one.
    .addColumn('gcode_entry', 'text')
    // Set by `PATCH`: until then the file is an unclaimed upload, removed after a while.
    .addColumn('attached_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  // Processing finds the tasks created for a plate before its facts were known.
  await db.schema.createIndex('tasks_uid_plate').on('tasks').columns(['uid', 'profile_id', 'plate_index']).execute()
  await db.schema.createIndex('print_files_profile').on('print_files').columns(['profile_id', 'plate_index']).execute()
}
