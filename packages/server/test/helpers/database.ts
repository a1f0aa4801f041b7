/**
 * A fresh, real database for one test: a SQLite file in a temp directory, or, when
 * DATABASE_URL names PostgreSQL, a schema of its own in that database. Removed afterwards.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { randomBytes } from 'node:crypto'

export const onPostgres = (process.env.DATABASE_URL ?? '').startsWith('postgres')

export interface TestDatabase {
  /** A DATABASE_URL for the server (the PostgreSQL one pins its own schema). */
  url: string
  dataDir: string
  drop(): Promise<void>
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bambu-cloud-test-'))
  if (!onPostgres) {
    return {
      url: `sqlite:${path.join(dataDir, 'test.db')}`,
      dataDir,
      drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
    }
  }
  const base = process.env.DATABASE_URL!
  const schema = `t_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: base })
  await admin.connect()
  await admin.query(`create schema ${schema}`)
  await admin.end()
  const url = new URL(base)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return {
    url: url.toString(),
    dataDir,
    drop: async () => {
      const c = new pg.Client({ connectionString: base })
      await c.connect()
      await c.query(`drop schema ${schema} cascade`)
      await c.end()
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
