/**
 * Cloud projects: a project (one uploaded 3MF's model), its profiles (one per slice
 * setup; each carries the plates, predictions and file URLs as a JSON `context`), and
 * the tickets clients poll while an upload is being processed.
 */
import { sql, type Kysely } from 'kysely'
import type { MigrationContext } from './index.ts'

/** First ids: eight digits, in ranges far apart so a project id passed as a profile id never matches. */
export const FIRST_PROJECT_ID = 10_000_001
export const FIRST_PROFILE_ID = 50_000_001

export async function up(db: Kysely<any>, { dialect, serialPk }: MigrationContext): Promise<void> {
  await serialPk(db.schema.createTable('projects'), 'project_id')
    .addColumn('uid', 'bigint', (c) => c.notNull().references('users.uid').onDelete('cascade'))
    .addColumn('model_id', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('content', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('projects_uid_id').on('projects').columns(['uid', 'project_id']).execute()

  await serialPk(db.schema.createTable('project_profiles'), 'profile_id')
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.project_id').onDelete('cascade'))
    // The project's model_id, repeated: tasks name a plate by model_id + profile_id.
    .addColumn('model_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('content', 'text')
    // JSON object built from the 3MF's metadata: compatibility, configs, plates, materials, ...
    .addColumn('context', 'text', (c) => c.notNull())
    // The 3MF behind the profile, once uploaded.
    .addColumn('filename', 'text')
    .addColumn('url', 'text')
    .addColumn('md5', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('project_profiles_project').on('project_profiles').columns(['project_id', 'profile_id']).execute()

  for (const [table, column, first] of [['projects', 'project_id', FIRST_PROJECT_ID], ['project_profiles', 'profile_id', FIRST_PROFILE_ID]] as const) {
    if (dialect === 'sqlite') {
      await sql`insert into sqlite_sequence (name, seq) values (${table}, ${first - 1})`.execute(db)
    } else {
      await sql`alter table ${sql.table(table)} alter column ${sql.ref(column)} restart with ${sql.lit(first)}`.execute(db)
    }
  }

  // Random, unguessable values: a client polls with the ticket it was handed.
  await db.schema
    .createTable('upload_tickets')
    .addColumn('ticket', 'text', (c) => c.primaryKey())
    .addColumn('uid', 'bigint', (c) => c.notNull().references('users.uid').onDelete('cascade'))
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.project_id').onDelete('cascade'))
    .addColumn('profile_id', 'bigint', (c) => c.references('project_profiles.profile_id').onDelete('cascade'))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    // Where the client PUTs the file; the upload pipeline fills it.
    .addColumn('upload_url', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('upload_tickets_project').on('upload_tickets').columns(['project_id', 'status']).execute()
}
