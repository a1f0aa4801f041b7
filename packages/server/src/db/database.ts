/**
 * Opens the database named by a DATABASE_URL: SQLite (better-sqlite3, WAL) or PostgreSQL
 * (pg). Everything above this file is dialect-free Kysely.
 */
import fs from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import pg from 'pg'
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import { parseDatabaseUrl } from '../config.ts'
import type { Database } from './schema.ts'

// int8 and numeric come back as strings by default; our ids and times stay below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10))
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number.parseFloat(v))

export type Dialect = 'sqlite' | 'postgres'

export interface DatabaseHandle {
  db: Kysely<Database>
  dialect: Dialect
}

export interface OpenOptions {
  /** PostgreSQL connection pool size. */
  poolSize?: number
}

/**
 * Kysely asks better-sqlite3 to prepare every query anew; keep the most recent statements
 * instead (Kysely runs one query at a time on its one connection, so none is shared while busy).
 */
function cachePrepared(sqlite: SQLite.Database, size = 256): void {
  const prepare = sqlite.prepare.bind(sqlite)
  const cache = new Map<string, SQLite.Statement>()
  sqlite.prepare = ((source: string) => {
    let statement = cache.get(source)
    if (statement === undefined) {
      statement = prepare(source)
      if (cache.size >= size) cache.delete(cache.keys().next().value!)
      cache.set(source, statement)
    }
    return statement
  }) as typeof sqlite.prepare
}

export function openDatabase(databaseUrl: string, options: OpenOptions = {}): DatabaseHandle {
  const target = parseDatabaseUrl(databaseUrl)
  if (target.kind === 'sqlite') {
    if (target.file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(target.file)), { recursive: true, mode: 0o700 })
    const sqlite = new SQLite(target.file)
    // It holds password hashes and sealed secrets; SQLite gives -wal and -shm the same mode.
    if (target.file !== ':memory:') fs.chmodSync(target.file, 0o600)
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = NORMAL')
    sqlite.pragma('foreign_keys = ON')
    sqlite.pragma('busy_timeout = 5000')
    cachePrepared(sqlite)
    return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }), dialect: 'sqlite' }
  }
  const pool = new pg.Pool({
    connectionString: target.url,
    max: options.poolSize ?? 10,
  })
  // An idle client that loses its connection must not crash the process.
  pool.on('error', () => {})
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres' }
}
