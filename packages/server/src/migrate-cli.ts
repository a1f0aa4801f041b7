/** `npm run migrate`: applies pending migrations to DATABASE_URL and exits. */
import fs from 'node:fs'
import { ConfigError, loadConfig } from './config.ts'
import { openDatabase } from './db/database.ts'
import { migrateToLatest } from './db/migrate.ts'

try {
  const config = loadConfig()
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  const database = openDatabase(config.databaseUrl)
  try {
    const applied = await migrateToLatest(database)
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n')
  } finally {
    await database.db.destroy()
  }
} catch (err) {
  const prefix = err instanceof ConfigError ? 'configuration error' : 'migration failed'
  process.stderr.write(`bambu-cloud: ${prefix}: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
}
