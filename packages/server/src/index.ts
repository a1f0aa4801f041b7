/**
 * The server package's entry: what a program embedding the server needs to configure,
 * migrate and build it (`main.ts` is the standalone process that does exactly this).
 */
export { buildApp, type BuildOptions } from './app.ts'
export { loadConfig, ConfigError, type Config } from './config.ts'
export { openDatabase, type DatabaseHandle, type Dialect } from './db/database.ts'
export { migrateToLatest } from './db/migrate.ts'
