/**
 * Applies pending migrations. Kysely's migrator takes a lock (an advisory lock on
 * PostgreSQL), so two servers starting at once on one database both come up.
 */
import { Migrator, sql } from 'kysely'
import type { DatabaseHandle } from './database.ts'
import { LATEST_MIGRATION, migrationProvider } from './migrations/index.ts'

const TABLE = 'bambu_cloud_migration'
const LOCK_TABLE = 'bambu_cloud_migration_lock'

export async function migrateToLatest({ db, dialect }: DatabaseHandle): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider(dialect),
    migrationTableName: TABLE,
    migrationLockTableName: LOCK_TABLE,
  })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error instanceof Error ? error : new Error(String(error))
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/** True when the database answers and the newest migration has been applied. */
export async function isMigrated({ db }: DatabaseHandle): Promise<boolean> {
  try {
    const row = await sql<{ name: string }>`select name from ${sql.table(TABLE)} where name = ${LATEST_MIGRATION}`.execute(db)
    return row.rows.length === 1
  } catch {
    return false
  }
}
