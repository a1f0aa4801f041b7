/**
 * What every command starts from: its options (merged with the program's), the output, the
 * saved logins, and the server to talk to. Also the option sets commands share and the
 * wrapper that turns an action into one that gets a `Context`.
 *
 * The server is, in this order: `--base-url`, `--region`, `BAMBU_BASE_URL`, the server of the
 * latest login, `http://localhost:8080` (where `npm start` listens).
 */
import { BambuCloud, REGION_BASE_URLS, type MqttOptions, type Region } from '@bambu-cloud/client'
import { Command, InvalidArgumentError, Option } from 'commander'
import { AdminApi } from './admin-api.ts'
import { UsageError } from './errors.ts'
import { Output } from './output.ts'
import { configDir, TokenStore } from './token-store.ts'

export const DEFAULT_BASE_URL = 'http://localhost:8080'

export interface CommonOptions {
  baseUrl?: string
  region?: Region
  json?: boolean
  adminToken?: string
  account?: string
}

export class Context {
  readonly out: Output
  readonly store: TokenStore
  /** The server, once a command asked for it (error messages name it). */
  resolvedBaseUrl: string | undefined

  constructor(
    readonly options: CommonOptions & Record<string, unknown>,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.out = new Output({ json: options.json === true, env })
    this.store = new TokenStore(configDir(env))
  }

  /** The options, typed as the command declared them. */
  opts<T>(): T {
    return this.options as unknown as T
  }

  /** The server's base URL, without a trailing slash. */
  baseUrl(): string {
    if (this.resolvedBaseUrl !== undefined) return this.resolvedBaseUrl
    const { baseUrl, region } = this.options
    if (baseUrl !== undefined && region !== undefined) throw new UsageError('give --base-url or --region, not both')
    const chosen = baseUrl ?? (region !== undefined ? REGION_BASE_URLS[region] : undefined) ?? (this.env.BAMBU_BASE_URL || undefined) ?? this.store.current() ?? DEFAULT_BASE_URL
    this.resolvedBaseUrl = normalizeBaseUrl(chosen)
    return this.resolvedBaseUrl
  }

  /**
   * A client of the server with its saved login, which keeps the tokens of every refresh.
   * Given `login`, it starts without tokens and saves what a login brings for that account.
   */
  cloud(login?: { account: string }, mqtt?: MqttOptions): BambuCloud {
    const baseUrl = this.baseUrl()
    const saved = login ? undefined : this.store.session(baseUrl)
    const account = login?.account ?? saved?.account ?? ''
    return new BambuCloud({
      baseUrl,
      accessToken: saved?.accessToken,
      refreshToken: saved?.refreshToken,
      mqtt,
      onTokens: (tokens) =>
        this.store.save(baseUrl, { account, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, savedAt: new Date().toISOString() }),
    })
  }

  /** A client of the admin API: `--admin-token` or `BAMBU_ADMIN_TOKEN`. */
  admin(): AdminApi {
    const token = this.options.adminToken ?? (this.env.BAMBU_ADMIN_TOKEN || undefined)
    if (token === undefined) throw new UsageError('no admin token: pass --admin-token or set BAMBU_ADMIN_TOKEN')
    return new AdminApi(this.baseUrl(), token)
  }
}

function normalizeBaseUrl(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`not a URL: ${text}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`not an http(s) URL: ${text}`)
  return text.replace(/\/+$/, '')
}

/** `--base-url`, `--region` and `--json`: on the program and on every command that talks to the API. */
export function connectionOptions(command: Command, options: { region?: boolean } = {}): Command {
  command.option('--base-url <url>', 'the server (env BAMBU_BASE_URL; default: the server of the latest login, else http://localhost:8080)')
  if (options.region !== false) command.addOption(new Option('--region <region>', 'the real Bambu Lab cloud instead').choices(['global', 'china']))
  return command.option('--json', 'print the data as JSON')
}

/** The admin API's options: the server and `--admin-token`. */
export function adminOptions(command: Command): Command {
  return connectionOptions(command, { region: false }).option('--admin-token <token>', 'the admin token (env BAMBU_ADMIN_TOKEN)')
}

/**
 * The options of a command and of every command above it; the command's own win (commander's
 * `optsWithGlobals` lets the program's win).
 */
export function mergedOptions(command: Command): Record<string, unknown> {
  const chain: Command[] = []
  for (let c: Command | null = command; c; c = c.parent) chain.unshift(c)
  const merged: Record<string, unknown> = {}
  for (const c of chain) {
    for (const [key, value] of Object.entries(c.opts())) if (value !== undefined) merged[key] = value
  }
  return merged
}

/**
 * An action that gets a `Context` and the command's arguments.
 *
 * @example
 * program.command('whoami').action(withContext(async (ctx) => ctx.out.printJson(await ctx.cloud().user.profile())))
 */
export function withContext(handler: (ctx: Context, args: string[]) => Promise<void>): (this: Command) => Promise<void> {
  return async function (this: Command) {
    const ctx = new Context(mergedOptions(this))
    currentContext = ctx
    await handler(ctx, this.processedArgs as string[])
  }
}

let currentContext: Context | undefined

/** The context of the command that ran last (so an error can name its server). */
export function lastContext(): Context | undefined {
  return currentContext
}

/** Parses a whole number of at least `min`, for option values. */
export function integer(min = 0): (text: string) => number {
  return (text) => {
    if (!/^\d+$/.test(text) || Number(text) < min) throw new InvalidArgumentError(`expected a whole number of at least ${min}`)
    return Number(text)
  }
}
