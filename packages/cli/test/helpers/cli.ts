/**
 * The CLI end to end: a real server process on a fresh database (SQLite, or a schema of its
 * own on PostgreSQL), and `bambu-cloud` run as a child process from its sources, with a
 * temporary HOME and XDG_CONFIG_HOME and no terminal (stdin is /dev/null, stdout a pipe).
 * Test data is set up through the admin API directly; the admin commands have tests of
 * their own.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { createTestDatabase, type TestDatabase } from '../../../server/test/helpers/database.ts'
import { freePort } from '../../../server/test/helpers/ports.ts'
import { startServer, type ServerProcess } from '../../../server/test/helpers/process.ts'

export const ROOT = path.resolve(import.meta.dirname, '../../../..')
export const CLI_SOURCE = path.join(ROOT, 'packages/cli/src/bin.ts')
export const ADMIN_TOKEN = 'cli-test-admin-token-0123456789'
export const PASSWORD = 'correct horse battery'

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

export type Env = Record<string, string | undefined>

export interface CliHarness {
  server: ServerProcess
  db: TestDatabase
  baseUrl: string
  /** XDG_CONFIG_HOME of every run. */
  configHome: string
  tokenDir: string
  tokenFile: string
  /** The environment every run starts from (before `env` of that run). */
  env: Env
  /** Runs `bambu-cloud args...`; never throws on a failing exit code. */
  run(args: string[], env?: Env): Promise<CliResult>
  /** Runs and asserts exit 0; returns stdout. */
  ok(args: string[], env?: Env): Promise<string>
  /** Runs with `--json` appended, asserts exit 0, parses stdout. */
  json<T = any>(args: string[], env?: Env): Promise<T>
  /** Calls the admin API directly; returns the parsed body (asserting a 2xx). */
  admin(method: string, route: string, body?: unknown): Promise<any>
  /** GET as a user with a token; returns the parsed body (asserting 200). */
  api(route: string, token: string): Promise<any>
  /** Creates a user through the admin API. */
  createUser(account: string, policy?: 'password' | 'email_code' | 'tfa'): Promise<{ uid: number; account: string; tfa_secret?: string }>
  /** Logs a password-policy user in through the CLI. */
  login(account: string): Promise<void>
  /** The saved tokens file, parsed. */
  saved(): { current?: string; sessions: Record<string, { account: string; accessToken: string; refreshToken: string; savedAt: string }> }
}

/** The CLI as users run it, from its sources (`--conditions=source --import tsx`). */
export function runCli(args: string[], env: Env, options: { cwd?: string; command?: string[] } = {}): Promise<CliResult> {
  const command = options.command ?? [process.execPath, '--conditions=source', '--import', 'tsx', CLI_SOURCE]
  return new Promise((resolve, reject) => {
    execFile(command[0]!, [...command.slice(1), ...args], { cwd: options.cwd ?? ROOT, env: definedOnly(env), timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err)
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr })
    }).stdin?.end()
  })
}

function definedOnly(env: Env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv
}

/** A temporary directory, removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'bambu-cloud-cli-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

export { freePort as closedPort } from '../../../server/test/helpers/ports.ts'

/** `signedUrls`: the server listens on a port chosen up front that is also its PUBLIC_URL, so the file links it hands out work. */
export async function startCli(t: TestContext, options: { signedUrls?: boolean } = {}): Promise<CliHarness> {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  const port = options.signedUrls ? await freePort() : 0
  const server = await startServer({
    DATA_DIR: db.dataDir,
    DATABASE_URL: db.url,
    ADMIN_TOKEN,
    PORT: String(port),
    ...(options.signedUrls ? { PUBLIC_URL: `http://127.0.0.1:${port}` } : {}),
  })
  t.after(() => server.stop('SIGKILL'))
  const home = tempDir(t)
  const configHome = path.join(home, 'config')
  const baseUrl = `http://127.0.0.1:${server.port}`
  const tokenDir = path.join(configHome, 'bambu-cloud')
  const env: Env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: configHome, BAMBU_BASE_URL: baseUrl }

  const run = (args: string[], extra: Env = {}) => runCli(args, { ...env, ...extra })
  const ok = async (args: string[], extra: Env = {}) => {
    const r = await run(args, extra)
    assert.equal(r.code, 0, `bambu-cloud ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
    return r.stdout
  }
  const admin = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${baseUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    assert.ok(res.ok, `${method} ${route}: ${res.status} ${text}`)
    return text === '' ? undefined : JSON.parse(text)
  }
  const harness: CliHarness = {
    server,
    db,
    baseUrl,
    configHome,
    tokenDir,
    tokenFile: path.join(tokenDir, 'tokens.json'),
    env,
    run,
    ok,
    json: async (args, extra) => JSON.parse(await ok([...args, '--json'], extra)),
    admin,
    async api(route, token) {
      const res = await fetch(`${baseUrl}${route}`, { headers: { authorization: `Bearer ${token}` } })
      assert.equal(res.status, 200, `${route}: ${res.status}`)
      return res.json()
    },
    createUser: (account, policy = 'password') => admin('POST', '/admin/v1/users', { account, password: PASSWORD, login_policy: policy }),
    async login(account) {
      await ok(['login', '--account', account], { BAMBU_PASSWORD: PASSWORD })
    },
    saved: () => JSON.parse(fs.readFileSync(harness.tokenFile, 'utf8')),
  }
  return harness
}

/** Asserts the output of a table-form command has no terminal escapes and returns its lines. */
export function plainLines(stdout: string): string[] {
  assert.doesNotMatch(stdout, /\x1b/, 'no ANSI escapes when stdout is not a terminal')
  return stdout.split('\n').filter((line) => line !== '')
}

/** Asserts a failure: the exit code, and exactly one `error: ...` line on stderr (no stack trace). */
export function assertFails(r: CliResult, code: number, line: string | RegExp): void {
  assert.equal(r.code, code, `exit code\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  assert.equal(r.stdout, '')
  const lines = r.stderr.split('\n').filter((l) => l !== '')
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`)
  if (typeof line === 'string') assert.equal(lines[0], line)
  else assert.match(lines[0]!, line)
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace')
}

/** Spawns a long-running CLI process (serve) with piped output. */
export function spawnCli(args: string[], env: Env) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI_SOURCE, ...args], {
    cwd: ROOT,
    env: definedOnly(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}
