/**
 * Server configuration, read from environment variables described once in `settings`
 * (README's table is generated from it). A bad value stops the start with one line naming the variable.
 */
import path from 'node:path'
import { KindGuard, Type, type Static, type TLiteral, type TSchema } from '@sinclair/typebox'
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

const GiB = 1024 ** 3
const TEN_YEARS = 10 * 365 * 86400
const count = (fallback: number, minimum: number, maximum: number, description: string) =>
  Type.Integer({ minimum, maximum, default: fallback, description })
const portOrOff = (fallback: number | undefined, description: string) =>
  Type.Union([Type.Integer({ minimum: 0, maximum: 65535 }), Type.Literal('off')], { default: fallback, description })

/**
 * Every setting, once, in README's order: its form (TypeBox), its default and its meaning.
 * `defaultText` documents a default computed at start; `schemes` limits a URL;
 * `documentedWith` puts a variable in another's README row. README's table is generated from this.
 */
export const settings = {
  PORT: count(8080, 0, 65535, 'port to listen on'),
  HOST: Type.String({ default: '0.0.0.0', description: 'address to listen on' }),
  DATABASE_URL: Type.String({
    format: 'database-url',
    defaultText: '`sqlite:$DATA_DIR/bambu-cloud.db`',
    description: '`sqlite:PATH`, or `postgres://user:pass@host:port/db` for PostgreSQL',
  }),
  DATA_DIR: Type.String({
    default: './data',
    description: 'where the admin token, the secrets key and uploaded files (`DATA_DIR/files`) are kept; private to the server (0700, its files 0600; tightened at start)',
  }),
  PUBLIC_URL: Type.String({
    schemes: ['http:', 'https:'],
    defaultText: '`http://localhost:<PORT>`',
    description: 'the base of links the server hands out; `https://` makes cookies `Secure`',
  }),
  ADMIN_TOKEN: Type.String({
    minLength: 16,
    defaultText: 'generated',
    description: 'bearer token of the admin API (at least 16 characters); unset: generated on first start, kept in `DATA_DIR/admin-token`',
  }),
  SECRETS_KEY: Type.String({
    format: 'secrets-key',
    defaultText: 'generated',
    description: 'the key (32 bytes, base64 or hex: `openssl rand -base64 32`) sealing TFA secrets, access codes and signing keys in the database; unset: generated on first start, kept in `DATA_DIR/secrets.key`. Servers sharing one database need the same key',
  }),
  ACCESS_TOKEN_TTL: count(7776000, 60, TEN_YEARS, 'lifetime of access and refresh tokens, seconds (90 days, as the cloud)'),
  TICKET_TOKEN_TTL: count(31536000, 60, TEN_YEARS, 'lifetime of tokens from a slicer sign-on ticket, seconds (as the cloud)'),
  REFRESH_REUSE_GRACE: count(10, 0, 300, "seconds after a refresh in which the old refresh token, used again (a client's parallel refresh), gets a fresh pair of the same login; later reuse revokes the login (0: never)"),
  TOKEN_FORMAT: Type.Union([Type.Literal('opaque'), Type.Literal('jwt')], {
    default: 'opaque',
    description: '`opaque`, or `jwt`: an HS256 JWT whose payload carries `"username":"u_<uid>"` and `exp`, for older clients that decode it',
  }),
  CORS_ORIGINS: Type.Array(Type.Union([Type.Literal('*'), Type.String({ schemes: ['http:', 'https:'] })]), {
    description: 'comma-separated origins allowed to call the API from a browser (`*` for any)',
  }),
  WEB_CSRF: Type.Union([Type.Literal('lenient'), Type.Literal('strict')], {
    default: 'lenient',
    description: '`strict`: `/api/sign-in/form` and `/api/sign-in/tfa` refuse requests without the `bbl_csrf_token` cookie and `x-bbl-csrf-token` header (from `GET /api/csrf`); `lenient` accepts those that send neither, as older clients do',
  }),
  LOGIN_FAILURES_PER_ACCOUNT: count(10, 1, 1_000_000, 'failed logins, codes and TFA tries per account per window'),
  LOGIN_FAILURES_PER_ADDRESS: count(100, 1, 1_000_000, 'the same, per client address'),
  CODE_SENDS_PER_ACCOUNT: count(5, 1, 1_000_000, 'login codes sent per account per window'),
  LOGIN_RATE_WINDOW: count(900, 1, 86400, 'the rate-limit window, seconds'),
  SMTP_URL: Type.String({ schemes: ['smtp:', 'smtps:'], description: '`smtp://user:pass@host:port` or `smtps://...` to mail login codes' }),
  SMTP_FROM: Type.String({ default: 'bambu-cloud <no-reply@localhost>', description: 'sender of those mails' }),
  BODY_LIMIT: count(1024 * 1024, 1024, GiB, 'largest request body, bytes (over it: 413)'),
  HEADERS_TIMEOUT: count(10, 1, 3600, "seconds a client has to send a request's headers (then: 408, connection closed)"),
  REQUEST_TIMEOUT: count(30, 1, 3600, "seconds a client has to send a request's body after its headers (then: 408, connection closed); uploads are timed by the next two instead"),
  UPLOAD_IDLE_TIMEOUT: count(30, 1, 3600, 'seconds an upload to a signed URL may send nothing before it is cut (408; nothing of it is kept)'),
  UPLOAD_MIN_RATE: count(10240, 0, GiB, 'least average rate of an upload once it has run `REQUEST_TIMEOUT`, bytes/s (slower: cut with 408); `0`: no minimum'),
  TRUST_PROXY: Type.Boolean({ default: false, description: '`true` behind a reverse proxy, so client addresses come from `X-Forwarded-For`' }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)), {
    default: 'info',
    description: '`fatal`, `error`, `warn`, `info`, `debug`, `trace`, or `silent`',
  }),
  SETTING_QUOTA_PRINT: count(100, 0, 1_000_000, 'slicer presets of type `print` one user may keep (over it: code 14)'),
  SETTING_QUOTA_PRINTER: count(100, 0, 1_000_000, 'the same for `printer` presets'),
  SETTING_QUOTA_FILAMENT: count(500, 0, 1_000_000, 'the same for `filament` presets'),
  MAX_UPLOAD_BYTES: count(200 * 1024 * 1024, 1024, 64 * GiB, 'largest file a signed upload URL takes, bytes (200 MiB; over it: 413)'),
  USER_STORAGE_QUOTA: Type.Union([Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), Type.Literal('off')], {
    default: 5 * GiB,
    description: 'bytes of project and print-ready files one user may keep, uploads under way counted at their Content-Length (5 GiB; over it: 413, code 1020); `0` or `off`: no limit',
  }),
  UPLOAD_URL_TTL: count(900, 10, 7 * 86400, 'how long a signed upload URL stays valid, seconds (15 minutes)'),
  UPLOAD_ABANDON_AFTER: count(3600, 60, 30 * 86400, 'seconds after which an upload never notified, or a print file never attached, is removed'),
  PRINT_DELIVERY_GRACE: count(5, 0, 3600, "seconds the server waits, after `POST my/task` for a plate, for the client's own `project_file` before sending one to a printer on its broker"),
  PRINT_DELIVERY_TIMEOUT: count(600, 1, 7 * 86400, "seconds an offline printer has to connect and take a task's job; after that the task fails"),
  MQTT_TLS_PORT: portOrOff(8883, "port of the MQTT broker's TLS listener (`u_<uid>` + access token for users, `dev_id` + access code for printers); `off` for none"),
  MQTT_PORT: portOrOff(undefined, 'a plain-TCP MQTT listener on this port, for trusted networks and local tools'),
  MQTT_HOST: Type.String({ defaultText: '`HOST`', description: 'address the MQTT listeners bind to' }),
  MQTT_CERT: Type.String({
    defaultText: 'self-signed',
    description: 'PEM certificate and key files for the TLS listener (both or neither); unset: one is created on first start and kept in `DATA_DIR/mqtt.crt` and `mqtt.key`',
  }),
  MQTT_KEY: Type.String({ documentedWith: 'MQTT_CERT' }),
  MQTT_MAX_PACKET: count(1024 * 1024, 1024, 256 * 1024 * 1024, 'largest MQTT packet (bytes) a logged-in client may send; a larger one closes its connection before it is read'),
  MQTT_PRE_CONNECT_BYTES: count(16 * 1024, 1024, 1024 * 1024, 'bytes a connection may send before its CONNECT is accepted (the CONNECT with its password and will must fit)'),
  MQTT_CONNECT_TIMEOUT: count(10, 1, 600, 'seconds a connection has for its TLS handshake and an accepted CONNECT'),
  MQTT_UNAUTHENTICATED_PER_ADDRESS: count(64, 1, 100_000, 'connections from one address that may wait for an accepted CONNECT at once; more are closed at once (printers behind one NAT reconnecting together count here)'),
} satisfies Record<string, TSchema>

export type SettingName = keyof typeof settings

function quoted(choices: unknown[]): string {
  const words = choices.map((c) => `"${String(c)}"`)
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`
}

function checkUrl(name: string, raw: string, schemes: string[]): string {
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

/** Reads one trimmed, non-empty value against its schema; `also` are the literals a union accepts besides it. */
function parseValue(name: string, schema: TSchema, raw: string, also: unknown[] = []): unknown {
  if (KindGuard.IsUnion(schema)) {
    const literal = schema.anyOf.find((member) => KindGuard.IsLiteral(member) && String(member.const).toLowerCase() === raw.toLowerCase())
    if (literal) return (literal as TLiteral).const
    const literals = schema.anyOf.filter((member) => KindGuard.IsLiteral(member)).map((member) => (member as TLiteral).const)
    const open = schema.anyOf.find((member) => !KindGuard.IsLiteral(member))
    if (!open) throw new ConfigError(`${name} must be ${quoted(literals)}, got "${raw}"`)
    return parseValue(name, open, raw, literals)
  }
  if (KindGuard.IsInteger(schema)) {
    if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number${also.length ? ` or ${quoted(also)}` : ''}, got "${raw}"`)
    const n = Number(raw)
    if (n < schema.minimum! || n > schema.maximum!) throw new ConfigError(`${name} must be between ${schema.minimum} and ${schema.maximum}, got ${n}`)
    return n
  }
  if (KindGuard.IsBoolean(schema)) {
    if (raw !== 'true' && raw !== 'false') throw new ConfigError(`${name} must be "true" or "false", got "${raw}"`)
    return raw === 'true'
  }
  if (KindGuard.IsArray(schema)) {
    const items = raw.split(',').map((item) => item.trim()).filter((item) => item !== '')
    return items.map((item) => parseValue(name, schema.items, item))
  }
  if (schema.minLength !== undefined && raw.length < schema.minLength) throw new ConfigError(`${name} must be at least ${schema.minLength} characters`)
  if (schema.schemes) checkUrl(name, raw, schema.schemes)
  if (schema.format === 'database-url') parseDatabaseUrl(raw)
  if (schema.format === 'secrets-key' && !parseSecretsKey(raw)) {
    throw new ConfigError(`${name} must be 32 bytes written as base64 or hex (openssl rand -base64 32)`)
  }
  return raw
}

/** A setting's value from the environment, or its schema's default; an empty value counts as unset. */
function setting<K extends SettingName>(env: Env, name: K): Static<(typeof settings)[K]> | undefined {
  const schema: TSchema = settings[name]
  const raw = env[name]?.trim()
  return (raw ? parseValue(name, schema, raw) : schema.default) as Static<(typeof settings)[K]> | undefined
}

/** Parses a DATABASE_URL into its driver and location. */
export function parseDatabaseUrl(raw: string): { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string } {
  if (raw.startsWith('sqlite:')) {
    const file = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (file === '') throw new ConfigError('DATABASE_URL names no SQLite file')
    return { kind: 'sqlite', file }
  }
  if (raw.startsWith('postgres://') || raw.startsWith('postgresql://')) {
    checkUrl('DATABASE_URL', raw, ['postgres:', 'postgresql:'])
    return { kind: 'postgres', url: raw }
  }
  throw new ConfigError(`DATABASE_URL has an unknown scheme: expected sqlite:PATH or postgres://...`)
}

export function loadConfig(env: Env = process.env): Config {
  // Settings that have a default in `settings` are never undefined.
  const read = <K extends SettingName>(name: K) => setting(env, name)!
  const port = read('PORT')
  const host = read('HOST')
  const dataDir = path.resolve(read('DATA_DIR'))
  // The database lives with the rest of the data unless it is named.
  const databaseUrl = setting(env, 'DATABASE_URL') ?? `sqlite:${path.join(dataDir, 'bambu-cloud.db')}`
  const publicUrl = (setting(env, 'PUBLIC_URL') ?? `http://localhost:${port}`).replace(/\/+$/, '')
  const secretsKey = setting(env, 'SECRETS_KEY')
  const smtpUrl = setting(env, 'SMTP_URL')
  const certFile = setting(env, 'MQTT_CERT')
  const keyFile = setting(env, 'MQTT_KEY')
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError('MQTT_CERT and MQTT_KEY must be set together (PEM certificate and key files)')
  }
  const userStorageQuota = read('USER_STORAGE_QUOTA')
  const tlsPort = read('MQTT_TLS_PORT')
  const plainPort = setting(env, 'MQTT_PORT')
  return {
    port,
    host,
    databaseUrl,
    dataDir,
    publicUrl,
    adminToken: setting(env, 'ADMIN_TOKEN'),
    secretsKey: secretsKey === undefined ? undefined : parseSecretsKey(secretsKey)!,
    accessTokenTtl: read('ACCESS_TOKEN_TTL'),
    ticketTokenTtl: read('TICKET_TOKEN_TTL'),
    refreshReuseGrace: read('REFRESH_REUSE_GRACE'),
    tokenFormat: read('TOKEN_FORMAT'),
    corsOrigins: setting(env, 'CORS_ORIGINS') ?? [],
    webCsrf: read('WEB_CSRF'),
    rateLimits: {
      failuresPerAccount: read('LOGIN_FAILURES_PER_ACCOUNT'),
      failuresPerAddress: read('LOGIN_FAILURES_PER_ADDRESS'),
      codeSendsPerAccount: read('CODE_SENDS_PER_ACCOUNT'),
      windowMs: read('LOGIN_RATE_WINDOW') * 1000,
    },
    smtp: smtpUrl === undefined ? undefined : { url: smtpUrl, from: read('SMTP_FROM') },
    bodyLimit: read('BODY_LIMIT'),
    timeouts: {
      headersMs: read('HEADERS_TIMEOUT') * 1000,
      requestMs: read('REQUEST_TIMEOUT') * 1000,
      uploadIdleMs: read('UPLOAD_IDLE_TIMEOUT') * 1000,
      uploadMinRate: read('UPLOAD_MIN_RATE'),
    },
    trustProxy: read('TRUST_PROXY'),
    logLevel: read('LOG_LEVEL'),
    settingQuotas: {
      print: read('SETTING_QUOTA_PRINT'),
      printer: read('SETTING_QUOTA_PRINTER'),
      filament: read('SETTING_QUOTA_FILAMENT'),
    },
    maxUploadBytes: read('MAX_UPLOAD_BYTES'),
    userStorageQuota: userStorageQuota === 'off' || userStorageQuota === 0 ? null : userStorageQuota,
    uploadUrlTtl: read('UPLOAD_URL_TTL'),
    uploadAbandonAfter: read('UPLOAD_ABANDON_AFTER'),
    mqtt: {
      tlsPort: tlsPort === 'off' ? null : tlsPort,
      plainPort: plainPort === undefined || plainPort === 'off' ? null : plainPort,
      host: setting(env, 'MQTT_HOST') ?? host,
      certFile: certFile && path.resolve(certFile),
      keyFile: keyFile && path.resolve(keyFile),
      maxPacket: read('MQTT_MAX_PACKET'),
      preConnectBytes: read('MQTT_PRE_CONNECT_BYTES'),
      connectTimeout: read('MQTT_CONNECT_TIMEOUT'),
      unauthenticatedPerAddress: read('MQTT_UNAUTHENTICATED_PER_ADDRESS'),
    },
    printDelivery: {
      graceSeconds: read('PRINT_DELIVERY_GRACE'),
      timeoutSeconds: read('PRINT_DELIVERY_TIMEOUT'),
    },
  }
}
