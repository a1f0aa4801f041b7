/**
 * A whole server for one test: real database, real services, driven through `inject`
 * (or `listen` where a test needs real HTTP). Closed and removed when the test ends.
 */
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { loadConfig, type Config } from '../../src/config.ts'
import { loadSecretsKey } from '../../src/data-dir.ts'
import { openDatabase, type DatabaseHandle } from '../../src/db/database.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { totpCode } from '../../src/lib/totp.ts'
import { createTestDatabase } from './database.ts'

export const ADMIN_TOKEN = 'test-admin-token-0123456789'
export const PASSWORD = 'correct horse battery'

/** A clock tests can move forward. */
export class TestClock {
  constructor(public ms = Date.now()) {}
  now = () => this.ms
  advance(ms: number) {
    this.ms += ms
  }
}

export interface TestApp {
  app: FastifyInstance
  config: Config
  database: DatabaseHandle
  clock: TestClock
  request(options: InjectOptions): Promise<LightMyRequestResponse>
  /** Creates a user through the admin API; returns its admin record. */
  createUser(account: string, options?: { password?: string; login_policy?: 'password' | 'email_code' | 'tfa'; name?: string }): Promise<CreatedUser>
  /** Logs a password-policy user in; returns the token body. */
  login(account: string, password?: string): Promise<TokenBody>
  /** The newest code in the outbox for an account. */
  latestCode(account: string): Promise<string>
  admin(options: InjectOptions): Promise<LightMyRequestResponse>
}

export interface CreatedUser {
  uid: number
  account: string
  name: string
  login_policy: string
  disabled: boolean
  created_at: string
  tfa_secret?: string
}

export interface TokenBody {
  accessToken: string
  refreshToken: string
  expiresIn: number
  refreshExpiresIn: number
  tfaKey: string
  accessMethod: string
  loginType: string
}

export async function startTestApp(
  t: TestContext,
  env: Record<string, string> = {},
  options: { logger?: { stream: NodeJS.WritableStream } } = {},
): Promise<TestApp> {
  const db = await createTestDatabase()
  const config = loadConfig({ DATA_DIR: db.dataDir, DATABASE_URL: db.url, ADMIN_TOKEN, ...env })
  const database = openDatabase(config.databaseUrl, { poolSize: 4 })
  await migrateToLatest(database)
  const clock = new TestClock()
  const app = await buildApp({
    config,
    database,
    adminToken: ADMIN_TOKEN,
    secretsKey: loadSecretsKey(config),
    now: clock.now,
    logger: options.logger ?? false,
    closeDatabase: true,
  })
  t.after(async () => {
    await app.close()
    await db.drop()
  })
  const request = (o: InjectOptions) => app.inject(o)
  const admin = (o: InjectOptions) =>
    app.inject({ ...o, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(o.headers ?? {}) } })
  const testApp: TestApp = {
    app,
    config,
    database,
    clock,
    request,
    admin,
    async createUser(account, o = {}) {
      const res = await admin({
        method: 'POST',
        url: '/admin/v1/users',
        payload: { account, password: o.password ?? PASSWORD, ...(o.login_policy ? { login_policy: o.login_policy } : {}), ...(o.name ? { name: o.name } : {}) },
      })
      if (res.statusCode !== 201) throw new Error(`createUser failed: ${res.statusCode} ${res.body}`)
      return res.json() as CreatedUser
    },
    async login(account, password = PASSWORD) {
      const res = await request({ method: 'POST', url: '/v1/user-service/user/login', payload: { account, password } })
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
      return res.json() as TokenBody
    },
    async latestCode(account) {
      const res = await admin({ method: 'GET', url: `/admin/v1/outbox?account=${encodeURIComponent(account)}` })
      const messages = (res.json() as { messages: { code: string }[] }).messages
      if (messages.length === 0) throw new Error(`no code in the outbox for ${account}`)
      return messages[0]!.code
    },
  }
  return testApp
}

/** The TOTP code an authenticator app would show at the test clock's time. */
export function authenticatorCode(secret: string, clock: TestClock, offsetSteps = 0): string {
  return totpCode(secret, clock.ms + offsetSteps * 30_000)
}

/** Parses Set-Cookie headers into name -> { value, attributes }. */
export function cookiesOf(res: LightMyRequestResponse): Record<string, { value: string; attributes: string[] }> {
  const raw = res.headers['set-cookie']
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
  const out: Record<string, { value: string; attributes: string[] }> = {}
  for (const line of list) {
    const [pair, ...attributes] = String(line).split(';').map((s) => s.trim())
    const eq = pair!.indexOf('=')
    out[pair!.slice(0, eq)] = { value: decodeURIComponent(pair!.slice(eq + 1)), attributes }
  }
  return out
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** The seven fields of every token answer (Bambu Studio's parser needs each one). */
export const TOKEN_FIELDS = ['accessToken', 'refreshToken', 'expiresIn', 'refreshExpiresIn', 'tfaKey', 'accessMethod', 'loginType', 'success']

/**
 * Asserts a 200 token answer carrying tokens: every field with its wire type (`success` true), the
 * lifetime and the login method; and, given an account, that the access token works as
 * that account. Returns the body.
 */
export async function assertTokens(
  s: TestApp,
  res: LightMyRequestResponse,
  expected: { accessMethod: string; account?: string; ttl?: number },
): Promise<TokenBody> {
  assert.equal(res.statusCode, 200, res.body)
  const body = res.json() as TokenBody
  assert.deepEqual(Object.keys(body).sort(), [...TOKEN_FIELDS].sort())
  assert.equal((body as unknown as { success: unknown }).success, true)
  assert.equal(typeof body.accessToken, 'string')
  assert.ok(body.accessToken.length >= 32)
  assert.equal(typeof body.refreshToken, 'string')
  assert.ok(body.refreshToken.length >= 32)
  assert.notEqual(body.refreshToken, body.accessToken)
  const ttl = expected.ttl ?? s.config.accessTokenTtl
  assert.equal(body.expiresIn, ttl)
  assert.equal(body.refreshExpiresIn, ttl)
  assert.equal(body.tfaKey, '')
  assert.equal(body.accessMethod, expected.accessMethod)
  assert.equal(body.loginType, '')
  if (expected.account !== undefined) {
    const profile = await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(body.accessToken) })
    assert.equal(profile.statusCode, 200)
    assert.equal(profile.json().account, expected.account)
  }
  return body
}

/** Registers a printer for an owner through the admin API; returns the admin record. */
export async function addDevice(s: TestApp, owner: string, devId: string, fields: Record<string, unknown> = {}) {
  const res = await s.admin({
    method: 'POST',
    url: '/admin/v1/devices',
    payload: { dev_id: devId, name: `Printer ${devId}`, dev_model_name: 'BL-P001', dev_product_name: 'X1 Carbon', owner, ...fields },
  })
  assert.equal(res.statusCode, 201, res.body)
  return res.json()
}

/** Applies one printer report through the admin API (`print` fields given flat). */
export async function report(s: TestApp, devId: string, print: Record<string, unknown>) {
  const res = await s.admin({ method: 'POST', url: `/admin/v1/devices/${devId}/report`, payload: { print: { command: 'push_status', ...print } } })
  assert.equal(res.statusCode, 204, res.body)
}

/** GET as a user, asserting 200; returns the JSON body. */
export async function getJson(s: TestApp, token: string, url: string) {
  const res = await s.request({ method: 'GET', url, headers: bearer(token) })
  assert.equal(res.statusCode, 200, `${url}: ${res.body}`)
  return res.json()
}

/**
 * Asserts a 200 token answer that asks for another step (`verifyCode` or `tfa`): all seven
 * fields, empty tokens, zero lifetimes, no cookies. Returns the `tfaKey` (empty for codes).
 */
export function assertNextStep(res: LightMyRequestResponse, loginType: 'verifyCode' | 'tfa'): string {
  assert.equal(res.statusCode, 200, res.body)
  const body = res.json() as TokenBody
  assert.deepEqual(Object.keys(body).sort(), [...TOKEN_FIELDS].sort())
  assert.equal(body.accessToken, '')
  assert.equal(body.refreshToken, '')
  assert.equal(body.expiresIn, 0)
  assert.equal(body.refreshExpiresIn, 0)
  assert.equal(typeof body.tfaKey, 'string')
  if (loginType === 'tfa') assert.ok(body.tfaKey.length >= 16)
  else assert.equal(body.tfaKey, '')
  assert.equal(body.accessMethod, '')
  assert.equal(body.loginType, loginType)
  assert.equal(res.headers['set-cookie'], undefined)
  return body.tfaKey
}
