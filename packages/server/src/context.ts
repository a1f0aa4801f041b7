/** What every service is built from: configuration, the database, a clock and a logger. */
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from './config.ts'
import type { DatabaseHandle } from './db/database.ts'

export interface ServiceContext {
  config: Config
  database: DatabaseHandle
  /** Epoch milliseconds; tests move it to cross expiry windows. */
  now: () => number
  log: FastifyBaseLogger
}
