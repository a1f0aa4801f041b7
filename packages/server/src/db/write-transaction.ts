/**
 * One transaction that holds its locks from its first statement, so a check and the write
 * it decides stay one act even across server processes on one database: on PostgreSQL the
 * advisory locks the caller takes, on SQLite the database's write lock (BEGIN IMMEDIATE),
 * which serialises every writer and so covers any lock.
 */
import { sql, type Kysely } from 'kysely'
import type { DatabaseHandle } from './database.ts'
import type { Database } from './schema.ts'

/**
 * Runs `work` in one write transaction; on PostgreSQL `lock` runs first, inside it.
 *
 * @example
 *   await writeTransaction(handle, (trx) => sql`select pg_advisory_xact_lock(${ns}, ${id})`.execute(trx), (trx) => countThenRecord(trx))
 */
export async function writeTransaction<T>(
  handle: DatabaseHandle,
  lock: (trx: Kysely<Database>) => Promise<unknown>,
  work: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  if (handle.dialect === 'postgres') {
    return handle.db.transaction().execute(async (trx) => {
      await lock(trx)
      return work(trx)
    })
  }
  return handle.db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn)
    try {
      const result = await work(conn)
      await sql`commit`.execute(conn)
      return result
    } catch (err) {
      await sql`rollback`.execute(conn)
      throw err
    }
  })
}
