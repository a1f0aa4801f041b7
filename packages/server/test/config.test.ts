/** The settings schema: every bad value stops loadConfig with one line naming its variable; unset settings take the documented defaults. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { ConfigError, loadConfig, settings, type SettingName } from '../src/config.ts'

const KEY_HEX = 'a'.repeat(64)

function assertRejected(env: Record<string, string>, message: string) {
  assert.throws(
    () => loadConfig(env),
    (err: Error) => {
      assert.ok(err instanceof ConfigError, `${JSON.stringify(env)} throws a ConfigError, not ${err.name}`)
      assert.equal(err.message, message)
      return true
    },
  )
}

test('LOG_LEVEL=verbose is refused with one line naming LOG_LEVEL and its levels; every pino level is accepted', () => {
  assertRejected({ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL must be "fatal", "error", "warn", "info", "debug", "trace" or "silent", got "verbose"')
  for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
    assert.equal(loadConfig({ LOG_LEVEL: level }).logLevel, level)
  }
})

// Free-form text (an address, a directory, a sender) cannot be bad; every other setting has a case here.
const freeForm = ['HOST', 'DATA_DIR', 'SMTP_FROM', 'MQTT_HOST'] as const satisfies readonly SettingName[]
const badValues: Record<Exclude<SettingName, (typeof freeForm)[number]>, [string, string]> = {
  PORT: ['80a', 'PORT must be a whole number, got "80a"'],
  DATABASE_URL: ['mysql://localhost/db', 'DATABASE_URL has an unknown scheme: expected sqlite:PATH or postgres://...'],
  PUBLIC_URL: ['ftp://example.org', 'PUBLIC_URL has unsupported scheme "ftp:" (expected http: or https:)'],
  ADMIN_TOKEN: ['short-token', 'ADMIN_TOKEN must be at least 16 characters'],
  SECRETS_KEY: ['too-short', 'SECRETS_KEY must be 32 bytes written as base64 or hex (openssl rand -base64 32)'],
  ACCESS_TOKEN_TTL: ['59', 'ACCESS_TOKEN_TTL must be between 60 and 315360000, got 59'],
  TICKET_TOKEN_TTL: ['1y', 'TICKET_TOKEN_TTL must be a whole number, got "1y"'],
  REFRESH_REUSE_GRACE: ['301', 'REFRESH_REUSE_GRACE must be between 0 and 300, got 301'],
  TOKEN_FORMAT: ['paseto', 'TOKEN_FORMAT must be "opaque" or "jwt", got "paseto"'],
  CORS_ORIGINS: ['https://a.example, not a url', 'CORS_ORIGINS is not a valid URL: "not a url"'],
  WEB_CSRF: ['off', 'WEB_CSRF must be "lenient" or "strict", got "off"'],
  LOGIN_FAILURES_PER_ACCOUNT: ['0', 'LOGIN_FAILURES_PER_ACCOUNT must be between 1 and 1000000, got 0'],
  LOGIN_FAILURES_PER_ADDRESS: ['-1', 'LOGIN_FAILURES_PER_ADDRESS must be a whole number, got "-1"'],
  CODE_SENDS_PER_ACCOUNT: ['1.5', 'CODE_SENDS_PER_ACCOUNT must be a whole number, got "1.5"'],
  LOGIN_RATE_WINDOW: ['86401', 'LOGIN_RATE_WINDOW must be between 1 and 86400, got 86401'],
  SMTP_URL: ['http://mail.example', 'SMTP_URL has unsupported scheme "http:" (expected smtp: or smtps:)'],
  BODY_LIMIT: ['1mb', 'BODY_LIMIT must be a whole number, got "1mb"'],
  HEADERS_TIMEOUT: ['0', 'HEADERS_TIMEOUT must be between 1 and 3600, got 0'],
  REQUEST_TIMEOUT: ['3601', 'REQUEST_TIMEOUT must be between 1 and 3600, got 3601'],
  UPLOAD_IDLE_TIMEOUT: ['soon', 'UPLOAD_IDLE_TIMEOUT must be a whole number, got "soon"'],
  UPLOAD_MIN_RATE: ['10k', 'UPLOAD_MIN_RATE must be a whole number, got "10k"'],
  TRUST_PROXY: ['yes', 'TRUST_PROXY must be "true" or "false", got "yes"'],
  LOG_LEVEL: ['verbose', 'LOG_LEVEL must be "fatal", "error", "warn", "info", "debug", "trace" or "silent", got "verbose"'],
  SETTING_QUOTA_PRINT: ['many', 'SETTING_QUOTA_PRINT must be a whole number, got "many"'],
  SETTING_QUOTA_PRINTER: ['1000001', 'SETTING_QUOTA_PRINTER must be between 0 and 1000000, got 1000001'],
  SETTING_QUOTA_FILAMENT: ['2000000', 'SETTING_QUOTA_FILAMENT must be between 0 and 1000000, got 2000000'],
  MAX_UPLOAD_BYTES: ['1023', 'MAX_UPLOAD_BYTES must be between 1024 and 68719476736, got 1023'],
  USER_STORAGE_QUOTA: ['5GB', 'USER_STORAGE_QUOTA must be a whole number or "off", got "5GB"'],
  UPLOAD_URL_TTL: ['9', 'UPLOAD_URL_TTL must be between 10 and 604800, got 9'],
  UPLOAD_ABANDON_AFTER: ['59', 'UPLOAD_ABANDON_AFTER must be between 60 and 2592000, got 59'],
  PRINT_DELIVERY_GRACE: ['3601', 'PRINT_DELIVERY_GRACE must be between 0 and 3600, got 3601'],
  PRINT_DELIVERY_TIMEOUT: ['0', 'PRINT_DELIVERY_TIMEOUT must be between 1 and 604800, got 0'],
  MQTT_TLS_PORT: ['tls', 'MQTT_TLS_PORT must be a whole number or "off", got "tls"'],
  MQTT_PORT: ['70000', 'MQTT_PORT must be between 0 and 65535, got 70000'],
  MQTT_CERT: ['a.crt', 'MQTT_CERT and MQTT_KEY must be set together (PEM certificate and key files)'],
  MQTT_KEY: ['a.key', 'MQTT_CERT and MQTT_KEY must be set together (PEM certificate and key files)'],
  MQTT_MAX_PACKET: ['1mb', 'MQTT_MAX_PACKET must be a whole number, got "1mb"'],
  MQTT_PRE_CONNECT_BYTES: ['10', 'MQTT_PRE_CONNECT_BYTES must be between 1024 and 1048576, got 10'],
  MQTT_CONNECT_TIMEOUT: ['601', 'MQTT_CONNECT_TIMEOUT must be between 1 and 600, got 601'],
  MQTT_UNAUTHENTICATED_PER_ADDRESS: ['0', 'MQTT_UNAUTHENTICATED_PER_ADDRESS must be between 1 and 100000, got 0'],
}

test('one bad value per setting is refused with one line naming it', () => {
  assert.deepEqual(
    Object.keys(settings).filter((name) => !(freeForm as readonly string[]).includes(name)),
    Object.keys(badValues),
    'every setting that can be bad has a case, in the schema\'s order',
  )
  for (const [name, [value, message]] of Object.entries(badValues)) {
    assert.ok(new RegExp(`\\b${name}\\b`).test(message) && !message.includes('\n'), `one line naming ${name}: ${message}`)
    assertRejected({ [name]: value }, message)
  }
})

test('unset settings take the documented defaults, and setting a documented default changes nothing', () => {
  const cwd = process.cwd()
  assert.deepEqual(loadConfig({}), {
    port: 8080,
    host: '0.0.0.0',
    databaseUrl: `sqlite:${path.join(cwd, 'data', 'bambu-cloud.db')}`,
    dataDir: path.join(cwd, 'data'),
    publicUrl: 'http://localhost:8080',
    adminToken: undefined,
    secretsKey: undefined,
    accessTokenTtl: 7776000,
    ticketTokenTtl: 31536000,
    refreshReuseGrace: 10,
    tokenFormat: 'opaque',
    corsOrigins: [],
    webCsrf: 'lenient',
    rateLimits: { failuresPerAccount: 10, failuresPerAddress: 100, codeSendsPerAccount: 5, windowMs: 900_000 },
    smtp: undefined,
    bodyLimit: 1048576,
    timeouts: { headersMs: 10_000, requestMs: 30_000, uploadIdleMs: 30_000, uploadMinRate: 10240 },
    trustProxy: false,
    logLevel: 'info',
    settingQuotas: { print: 100, printer: 100, filament: 500 },
    maxUploadBytes: 209715200,
    userStorageQuota: 5368709120,
    uploadUrlTtl: 900,
    uploadAbandonAfter: 3600,
    mqtt: {
      tlsPort: 8883,
      plainPort: null,
      host: '0.0.0.0',
      certFile: undefined,
      keyFile: undefined,
      maxPacket: 1048576,
      preConnectBytes: 16384,
      connectTimeout: 10,
      unauthenticatedPerAddress: 64,
    },
    printDelivery: { graceSeconds: 5, timeoutSeconds: 600 },
  })
  for (const [name, schema] of Object.entries(settings)) {
    if (schema.default === undefined) continue
    assert.deepEqual(loadConfig({ [name]: ` ${String(schema.default)} ` }), loadConfig({}), `${name}=${String(schema.default)}`)
  }
  // Defaults computed from other settings, as README's table says.
  const derived = loadConfig({ PORT: '9000', HOST: '127.0.0.1', DATA_DIR: 'state' })
  assert.equal(derived.publicUrl, 'http://localhost:9000')
  assert.equal(derived.databaseUrl, `sqlite:${path.join(cwd, 'state', 'bambu-cloud.db')}`)
  assert.equal(derived.mqtt.host, '127.0.0.1')
})

test('set values are read: lists, booleans, "off", secrets and URLs', () => {
  const config = loadConfig({
    CORS_ORIGINS: ' https://a.example , *,',
    TRUST_PROXY: 'true',
    USER_STORAGE_QUOTA: 'OFF',
    MQTT_TLS_PORT: 'off',
    MQTT_PORT: '1883',
    SECRETS_KEY: KEY_HEX,
    ADMIN_TOKEN: ' 0123456789abcdef ',
    PUBLIC_URL: 'https://cloud.example.test/',
    SMTP_URL: 'smtps://user:pass@mail.example:465',
    TOKEN_FORMAT: 'jwt',
  })
  assert.deepEqual(config.corsOrigins, ['https://a.example', '*'])
  assert.equal(config.trustProxy, true)
  assert.equal(config.userStorageQuota, null)
  assert.equal(config.mqtt.tlsPort, null)
  assert.equal(config.mqtt.plainPort, 1883)
  assert.deepEqual(config.secretsKey, Buffer.from(KEY_HEX, 'hex'))
  assert.equal(config.adminToken, '0123456789abcdef')
  assert.equal(config.publicUrl, 'https://cloud.example.test')
  assert.deepEqual(config.smtp, { url: 'smtps://user:pass@mail.example:465', from: 'bambu-cloud <no-reply@localhost>' })
  assert.equal(config.tokenFormat, 'jwt')
})
