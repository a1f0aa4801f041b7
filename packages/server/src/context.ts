/** What every service is built from: configuration, the database, a clock, a logger and the sealer of secrets at rest. */
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from './config.ts'
import type { DatabaseHandle } from './db/database.ts'
import type { SecretBox } from './lib/secret-box.ts'

export interface ServiceContext {
  config: Config
  database: DatabaseHandle
  /** Epoch milliseconds; tests move it to cross expiry windows. */
  now: () => number
  log: FastifyBaseLogger
  /** Seals the secrets the server must read back (TFA secrets, access codes, signing keys). */
  secrets: SecretBox
}
