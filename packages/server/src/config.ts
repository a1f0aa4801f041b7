/**
 * Server configuration, read from environment variables (README lists them all).
 * A bad value stops the start with one line naming the variable.
 */
import path from 'node:path'
import { parseSecretsKey } from './lib/secret-box.ts'

export interface RateLimits {
  /** Failed logins, codes and TFA tries per account per window. */
  failuresPerAccount: number
  /** Failed logins, codes and TFA tries per client address per window. */
  failuresPerAddress: number
  /** Login codes sent per account per window. */
  codeSendsPerAccount: number
  windowMs: number
}

/** How long a slow client may hold a connection (milliseconds; an upload's rate in bytes/s). */
export interface Timeouts {
  /** From a request's first byte until its headers are in. */
  headersMs: number
  /** From a request's headers until its whole body is in (uploads: the grace before the rate counts). */
  requestMs: number
  /** An upload body that sends nothing for this long is cut. */
  uploadIdleMs: number
  /** The least average rate of an upload body once past `requestMs`, bytes per second. */
  uploadMinRate: number
}

export interface SmtpConfig {
  url: string
  from: string
}

export interface MqttConfig {
  /** The TLS listener's port; null: off. */
  tlsPort: number | null
  /** A plain TCP listener's port; null (the default): none. */
  plainPort: number | null
  host: string
  /** PEM files for the TLS listener; unset: a self-signed pair kept in DATA_DIR. */
  certFile: string | undefined
  keyFile: string | undefined
  /** The largest packet a logged-in client may send, bytes. */
  maxPacket: number
  /** Bytes a connection may send before its CONNECT is accepted. */
  preConnectBytes: number
  /** Seconds a connection has for the TLS handshake and an accepted CONNECT. */
  connectTimeout: number
  /** Connections from one address that may be waiting for their CONNECT to be accepted at once. */
  unauthenticatedPerAddress: number
}

export interface Config {
  port: number
  host: string
  databaseUrl: string
  dataDir: string
  publicUrl: string
  /** Unset: generated on first start and kept in DATA_DIR. */
  adminToken: string | undefined
  /** The key sealing secrets at rest; unset: generated on first start and kept in DATA_DIR/secrets.key. */
  secretsKey: Buffer | undefined
  accessTokenTtl: number
  ticketTokenTtl: number
  /** Seconds after a refresh in which the old refresh token still gets a pair instead of revoking the login. */
  refreshReuseGrace: number
  tokenFormat: 'opaque' | 'jwt'
  corsOrigins: string[]
  /** `strict`: the web host's sign-in API refuses requests without its CSRF cookie and header. */
  webCsrf: 'lenient' | 'strict'
  rateLimits: RateLimits
  smtp: SmtpConfig | undefined
  bodyLimit: number
  timeouts: Timeouts
  trustProxy: boolean
  logLevel: string
  /** How many live presets of each type one user may keep in the cloud. */
  settingQuotas: Record<'print' | 'printer' | 'filament', number>
  /** The largest file a signed upload URL accepts, bytes. */
  maxUploadBytes: number
  /** Bytes of project and print files (and uploads under way) one user may keep; null: no limit. */
  userStorageQuota: number | null
  /** Seconds a signed upload URL stays valid. */
  uploadUrlTtl: number
  /** Seconds after which an upload never notified (or a print file never attached) is removed. */
  uploadAbandonAfter: number
  mqtt: MqttConfig
  /** Prints for printers on this broker: seconds to wait for the client's own `project_file`, and for an offline printer. */
  printDelivery: { graceSeconds: number; timeoutSeconds: number }
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

type Env = Record<string, string | undefined>

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`)
  const n = Number(raw.trim())
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`)
  return n
}

/** A port, "off" (null), or the fallback when unset. */
function optionalPort(env: Env, name: string, fallback: number | null): number | null {
  if (env[name]?.trim().toLowerCase() === 'off') return null
  return env[name] === undefined || env[name] === '' ? fallback : integer(env, name, 0, 0, 65535)
}

function url(env: Env, name: string, raw: string, schemes: string[]): string {
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new ConfigError(`${name} is not a valid URL: "${raw}"`)
  }
  if (!schemes.includes(parsed.protocol)) {
    throw new ConfigError(`${name} has unsupported scheme "${parsed.protocol}" (expected ${schemes.join(' or ')})`)
  }
  return raw
}

/** Parses a DATABASE_URL into its driver and location. */
export function parseDatabaseUrl(raw: string): { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string } {
  if (raw.startsWith('sqlite:')) {
    const file = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (file === '') throw new ConfigError('DATABASE_URL names no SQLite file')
    return { kind: 'sqlite', file }
  }
  if (raw.startsWith('postgres://') || raw.startsWith('postgresql://')) {
    url({}, 'DATABASE_URL', raw, ['postgres:', 'postgresql:'])
    return { kind: 'postgres', url: raw }
  }
  throw new ConfigError(`DATABASE_URL has an unknown scheme: expected sqlite:PATH or postgres://...`)
}

export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 8080, 0, 65535)
  const host = env.HOST?.trim() || '0.0.0.0'
  const dataDir = path.resolve(env.DATA_DIR?.trim() || './data')
  // The database lives with the rest of the data unless it is named.
  const databaseUrl = env.DATABASE_URL?.trim() || `sqlite:${path.join(dataDir, 'bambu-cloud.db')}`
  parseDatabaseUrl(databaseUrl)
  const publicUrl = url(env, 'PUBLIC_URL', env.PUBLIC_URL?.trim() || `http://localhost:${port}`, ['http:', 'https:']).replace(/\/+$/, '')
  const tokenFormat = env.TOKEN_FORMAT?.trim() || 'opaque'
  if (tokenFormat !== 'opaque' && tokenFormat !== 'jwt') {
    throw new ConfigError(`TOKEN_FORMAT must be "opaque" or "jwt", got "${tokenFormat}"`)
  }
  const adminToken = env.ADMIN_TOKEN?.trim() || undefined
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('ADMIN_TOKEN must be at least 16 characters')
  }
  let secretsKey: Buffer | undefined
  if (env.SECRETS_KEY?.trim()) {
    secretsKey = parseSecretsKey(env.SECRETS_KEY) ?? undefined
    if (!secretsKey) throw new ConfigError('SECRETS_KEY must be 32 bytes written as base64 or hex (openssl rand -base64 32)')
  }
  const corsOrigins = (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  for (const origin of corsOrigins) {
    if (origin !== '*') url(env, 'CORS_ORIGINS', origin, ['http:', 'https:'])
  }
  const webCsrf = env.WEB_CSRF?.trim() || 'lenient'
  if (webCsrf !== 'lenient' && webCsrf !== 'strict') {
    throw new ConfigError(`WEB_CSRF must be "lenient" or "strict", got "${webCsrf}"`)
  }
  let smtp: SmtpConfig | undefined
  if (env.SMTP_URL?.trim()) {
    smtp = {
      url: url(env, 'SMTP_URL', env.SMTP_URL.trim(), ['smtp:', 'smtps:']),
      from: env.SMTP_FROM?.trim() || 'bambu-cloud <no-reply@localhost>',
    }
  }
  const trustProxy = env.TRUST_PROXY?.trim() || 'false'
  if (trustProxy !== 'true' && trustProxy !== 'false') {
    throw new ConfigError(`TRUST_PROXY must be "true" or "false", got "${trustProxy}"`)
  }
  const certFile = env.MQTT_CERT?.trim() || undefined
  const keyFile = env.MQTT_KEY?.trim() || undefined
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError('MQTT_CERT and MQTT_KEY must be set together (PEM certificate and key files)')
  }
  return {
    port,
    host,
    databaseUrl,
    dataDir,
    publicUrl,
    adminToken,
    secretsKey,
    accessTokenTtl: integer(env, 'ACCESS_TOKEN_TTL', 7776000, 60, 10 * 365 * 86400),
    ticketTokenTtl: integer(env, 'TICKET_TOKEN_TTL', 31536000, 60, 10 * 365 * 86400),
    refreshReuseGrace: integer(env, 'REFRESH_REUSE_GRACE', 10, 0, 300),
    tokenFormat,
    corsOrigins,
    webCsrf,
    rateLimits: {
      failuresPerAccount: integer(env, 'LOGIN_FAILURES_PER_ACCOUNT', 10, 1, 1_000_000),
      failuresPerAddress: integer(env, 'LOGIN_FAILURES_PER_ADDRESS', 100, 1, 1_000_000),
      codeSendsPerAccount: integer(env, 'CODE_SENDS_PER_ACCOUNT', 5, 1, 1_000_000),
      windowMs: integer(env, 'LOGIN_RATE_WINDOW', 900, 1, 86400) * 1000,
    },
    smtp,
    bodyLimit: integer(env, 'BODY_LIMIT', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    timeouts: {
      headersMs: integer(env, 'HEADERS_TIMEOUT', 10, 1, 3600) * 1000,
      requestMs: integer(env, 'REQUEST_TIMEOUT', 30, 1, 3600) * 1000,
      uploadIdleMs: integer(env, 'UPLOAD_IDLE_TIMEOUT', 30, 1, 3600) * 1000,
      uploadMinRate: integer(env, 'UPLOAD_MIN_RATE', 10240, 0, 1024 * 1024 * 1024),
    },
    trustProxy: trustProxy === 'true',
    logLevel: env.LOG_LEVEL?.trim() || 'info',
    settingQuotas: {
      print: integer(env, 'SETTING_QUOTA_PRINT', 100, 0, 1_000_000),
      printer: integer(env, 'SETTING_QUOTA_PRINTER', 100, 0, 1_000_000),
      filament: integer(env, 'SETTING_QUOTA_FILAMENT', 500, 0, 1_000_000),
    },
    maxUploadBytes: integer(env, 'MAX_UPLOAD_BYTES', 200 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
    userStorageQuota: ['off', '0'].includes(env.USER_STORAGE_QUOTA?.trim().toLowerCase() ?? '')
      ? null
      : integer(env, 'USER_STORAGE_QUOTA', 5 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
    uploadUrlTtl: integer(env, 'UPLOAD_URL_TTL', 900, 10, 7 * 86400),
    uploadAbandonAfter: integer(env, 'UPLOAD_ABANDON_AFTER', 3600, 60, 30 * 86400),
    mqtt: {
      tlsPort: optionalPort(env, 'MQTT_TLS_PORT', 8883),
      plainPort: optionalPort(env, 'MQTT_PORT', null),
      host: env.MQTT_HOST?.trim() || host,
      certFile: certFile && path.resolve(certFile),
      keyFile: keyFile && path.resolve(keyFile),
      maxPacket: integer(env, 'MQTT_MAX_PACKET', 1024 * 1024, 1024, 256 * 1024 * 1024),
      preConnectBytes: integer(env, 'MQTT_PRE_CONNECT_BYTES', 16 * 1024, 1024, 1024 * 1024),
      connectTimeout: integer(env, 'MQTT_CONNECT_TIMEOUT', 10, 1, 600),
      unauthenticatedPerAddress: integer(env, 'MQTT_UNAUTHENTICATED_PER_ADDRESS', 64, 1, 100_000),
    },
    printDelivery: {
      graceSeconds: integer(env, 'PRINT_DELIVERY_GRACE', 5, 0, 3600),
      timeoutSeconds: integer(env, 'PRINT_DELIVERY_TIMEOUT', 600, 1, 7 * 86400),
    },
  }
}
