/**
 * Starts the server: configuration, data directory (private to the server), admin token,
 * secrets key, migrations, sealing of secrets stored in plain, a recount of the task counts
 * (healing any a crash left wrong), listen (HTTP and the MQTT broker), and a graceful stop on
 * SIGTERM/SIGINT (stop accepting, finish in-flight requests, end MQTT sessions and write
 * their last reports, close the database).
 */
import fs from 'node:fs'
import path from 'node:path'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import { loadSecretsKey, prepareDataDir } from './data-dir.ts'
import { openDatabase } from './db/database.ts'
import { migrateToLatest } from './db/migrate.ts'
import { randomToken } from './lib/secrets.ts'
import { startMqttBroker } from './mqtt/broker.ts'
import { startLanBridge } from './bridge/lan-bridge.ts'
import { sealSecretsAtRest } from './services/secrets-at-rest.ts'

/** ADMIN_TOKEN, or the one generated on first start and kept in DATA_DIR (mode 0600). */
export function resolveAdminToken(config: Config): { token: string; generated: boolean } {
  if (config.adminToken) return { token: config.adminToken, generated: false }
  const file = path.join(config.dataDir, 'admin-token')
  try {
    const token = fs.readFileSync(file, 'utf8').trim()
    if (token) return { token, generated: false }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const token = randomToken(32)
  try {
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    // Another process starting at the same moment wrote it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { token: fs.readFileSync(file, 'utf8').trim(), generated: false }
    throw err
  }
  return { token, generated: true }
}

async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`bambu-cloud: configuration error: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  // Whatever the server creates (the database and its -wal/-shm included) is its own.
  process.umask(0o077)
  const tightened = prepareDataDir(config.dataDir)
  const admin = resolveAdminToken(config)
  if (admin.generated) {
    // Printed once, on the start that created it; afterwards it is only in the file.
    process.stdout.write(
      `\nGenerated an admin token (kept in ${path.join(config.dataDir, 'admin-token')}):\n\n    ${admin.token}\n\n`,
    )
  }
  const secretsKey = loadSecretsKey(config)
  const database = openDatabase(config.databaseUrl)
  await migrateToLatest(database)
  const app = await buildApp({ config, database, adminToken: admin.token, secretsKey, closeDatabase: true })
  if (tightened.length > 0) app.log.warn({ dataDir: config.dataDir, entries: tightened.length }, 'DATA_DIR was readable by others: made it and its files private to the server (0700/0600)')
  const sealed = await sealSecretsAtRest(app.services)
  if (sealed.tfaSecrets + sealed.accessCodes > 0) app.log.info(sealed, 'sealed secrets an earlier version stored in plain')
  await app.services.tasks.recount()

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    app.log.info({ signal }, 'shutting down')
    app.close().then(
      () => process.exit(0),
      (err) => {
        app.log.error({ err }, 'error while shutting down')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))

  await app.listen({ port: config.port, host: config.host })
  app.mqtt = await startMqttBroker({ services: app.services, config, log: app.log })
  app.bridge = await startLanBridge({ services: app.services, broker: app.mqtt, log: app.log })
}

main().catch((err) => {
  process.stderr.write(`bambu-cloud: failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
