/**
 * Applies pending migrations, each once, in order, inside one transaction that holds a
 * lock: an advisory lock on PostgreSQL, an immediate (write) transaction on SQLite. Two
 * servers starting at once on one database therefore both come up: the second waits, then
 * finds nothing left to do. No catalog introspection is involved, so other schemas of the
 * same PostgreSQL database (being created or dropped meanwhile) cannot disturb it.
 */
import { sql, type Kysely } from 'kysely'
import type { DatabaseHandle } from './database.ts'
import { MIGRATIONS, LATEST_MIGRATION, migrationContext } from './migrations/index.ts'
import { writeTransaction } from './write-transaction.ts'

const TABLE = 'schema_migrations'
/** An arbitrary constant naming our advisory lock; mixed with the schema name below. */
const LOCK_NAMESPACE = 0x62616d62

async function applyPending(db: Kysely<any>, handle: DatabaseHandle, now: number): Promise<string[]> {
  await sql`create table if not exists ${sql.table(TABLE)} (name text primary key, applied_at bigint not null)`.execute(db)
  const done = new Set(
    (await sql<{ name: string }>`select name from ${sql.table(TABLE)}`.execute(db)).rows.map((r) => r.name),
  )
  const applied: string[] = []
  const context = migrationContext(handle.dialect)
  for (const [name, migration] of MIGRATIONS) {
    if (done.has(name)) continue
    await migration.up(db, context)
    await sql`insert into ${sql.table(TABLE)} (name, applied_at) values (${name}, ${now})`.execute(db)
    applied.push(name)
  }
  return applied
}

/** Brings the database up to date; returns the names of the migrations it applied. */
export async function migrateToLatest(handle: DatabaseHandle): Promise<string[]> {
  const now = Date.now()
  return writeTransaction(
    handle,
    // One lock per schema: servers sharing a schema take turns, other schemas do not wait.
    (trx) => sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, hashtext(current_schema()))`.execute(trx),
    (trx) => applyPending(trx, handle, now),
  )
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
