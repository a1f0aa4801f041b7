/**
 * `BambuCloud`, the SDK's entry point: where the API is, the tokens, and one resource
 * group per part of the API. Every call goes through `request`, which adds the access
 * token and, on a 401, refreshes once (shared by concurrent calls) and tries again.
 */
import { Auth } from './resources/auth.ts'
import { Devices } from './resources/devices.ts'
import { Projects } from './resources/projects.ts'
import { Slicer } from './resources/slicer.ts'
import { User } from './resources/user.ts'
import { untilAborted } from './core/abort.ts'
import type { MqttOptions } from './core/mqtt.ts'
import { AuthenticationError, BambuApiError, ConnectionError } from './core/errors.ts'
import { Session, type TokensListener } from './core/session.ts'
import { Transport, type ApiRequest, type FetchFunction, type RequestOptions } from './core/transport.ts'

/** The real cloud's API hosts. */
export const REGION_BASE_URLS = {
  global: 'https://api.bambulab.com',
  china: 'https://api.bambulab.cn',
} as const

export type Region = keyof typeof REGION_BASE_URLS

/** The real cloud's MQTT brokers. */
export const REGION_MQTT_URLS = {
  global: 'mqtts://us.mqtt.bambulab.com:8883',
  china: 'mqtts://cn.mqtt.bambulab.com:8883',
} as const

export interface BambuCloudOptions {
  /** Which real cloud to talk to when `baseUrl` is not given. Default `global`. */
  region?: Region
  /** Any server speaking the API (a bambu-cloud server, say): scheme, host and optional path prefix. */
  baseUrl?: string
  /** Tokens kept from an earlier login. */
  accessToken?: string
  refreshToken?: string
  /** The fetch to use (default: the global one). */
  fetch?: FetchFunction
  /** Timeout of each attempt, milliseconds. Default 60000. */
  timeoutMs?: number
  /** Retries of idempotent calls (GET, HEAD, PUT, DELETE) on 429, 502, 503, 504 and network errors. Default 2. */
  maxRetries?: number
  /** Base of the exponential backoff between retries, milliseconds. Default 500. */
  retryBaseDelayMs?: number
  /** Called with new tokens after each login and refresh (awaited), so they can be kept. */
  onTokens?: TokensListener
  /** The MQTT broker for live printers (`devices.watch`, `pause`, ...; needs the `mqtt` package). */
  mqtt?: MqttOptions
}

/**
 * A client of the Bambu Lab cloud API, or of any server that speaks it.
 *
 * @example
 * const cloud = new BambuCloud({ baseUrl: 'http://localhost:8080', onTokens: save })
 * const login = await cloud.auth.login({ account: 'you@example.com', password })
 * if (login.kind === 'tokens') {
 *   for (const device of await cloud.devices.list()) console.log(device.dev_id, device.print_status)
 * }
 */
export class BambuCloud {
  /** Logins, codes, tokens and sign-on tickets (user-service). */
  readonly auth: Auth
  /** Who you are, your print history and messages (user-service, design-user-service). */
  readonly user: User
  /** Your printers (iot-service). */
  readonly devices: Devices
  /** Slicer downloads and presets (iot-service). */
  readonly slicer: Slicer
  /** Cloud projects and their sliced profiles (iot-service). */
  readonly projects: Projects
  /** Where requests go, without a trailing slash. */
  readonly baseUrl: string
  /** The MQTT broker: `mqtt.url`, else the region's, else port 8883 on the API's host. */
  readonly mqttUrl: string
  readonly mqttOptions: MqttOptions

  readonly #transport: Transport
  readonly #session: Session

  constructor(options: BambuCloudOptions = {}) {
    this.baseUrl = (options.baseUrl ?? REGION_BASE_URLS[options.region ?? 'global']).replace(/\/+$/, '')
    this.mqttOptions = options.mqtt ?? {}
    this.mqttUrl = options.mqtt?.url ?? defaultMqttUrl(this.baseUrl)
    this.#transport = new Transport({
      baseUrl: this.baseUrl,
      // Called as a plain function: browsers reject `fetch` called as a method of another object.
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      timeoutMs: options.timeoutMs ?? 60_000,
      maxRetries: options.maxRetries ?? 2,
      retryBaseDelayMs: options.retryBaseDelayMs ?? 500,
    })
    this.#session = new Session(this.#transport, options, options.onTokens)
    this.auth = new Auth(this, this.#session)
    this.user = new User(this)
    this.devices = new Devices(this)
    this.slicer = new Slicer(this)
    this.projects = new Projects(this)
  }

  /** The access token in use (from the options, a login or a refresh); undefined when logged out. */
  get accessToken(): string | undefined {
    return this.#session.accessToken
  }

  /** The refresh token in use. */
  get refreshToken(): string | undefined {
    return this.#session.refreshToken
  }

  /**
   * Calls one endpoint and resolves to its parsed JSON body. The resource methods use it;
   * it is public for endpoints they do not cover.
   *
   * @example
   * const task = await cloud.request<Record<string, unknown>>({ method: 'GET', path: path`/v1/iot-service/api/user/task/${id}` })
   */
  async request<T>(request: ApiRequest, options: RequestOptions = {}): Promise<T> {
    const withToken = request.auth !== false
    const token = withToken ? this.#session.accessToken : undefined
    try {
      return (await this.#transport.send(request, token, options)) as T
    } catch (err) {
      if (!withToken || !(err instanceof AuthenticationError)) throw err
      await this.#refreshAfter(token, err, options.signal)
      return (await this.#transport.send(request, this.#session.accessToken, options)) as T
    }
  }

  /**
   * Fetches a signed file URL from an API answer (`upload_url`, `download_url`, a thumbnail):
   * such URLs carry their own signature, so no token is sent. Resolves to the response
   * (status checked, body unread); retried like an API call when the method is idempotent.
   *
   * @example
   * const res = await cloud.fetchSignedUrl(project.download_url!)
   * const bytes = new Uint8Array(await res.arrayBuffer())
   */
  fetchSignedUrl(url: string, init: RequestInit | (() => RequestInit) = {}, options: RequestOptions = {}): Promise<Response> {
    return this.#transport.sendToUrl(url, typeof init === 'function' ? init : () => init, options)
  }

  /** After a 401 with `staleToken`: refreshes (or joins the refresh running), or throws `unauthorized`. */
  async #refreshAfter(staleToken: string | undefined, unauthorized: AuthenticationError, signal: AbortSignal | undefined): Promise<void> {
    const session = this.#session
    // Someone else's refresh already replaced the token this call used.
    if (session.accessToken !== staleToken && session.accessToken !== undefined) return
    if (session.refreshToken === undefined) throw unauthorized
    try {
      await untilAborted(session.refresh(), signal)
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      // The refresh call itself failed: the caller learns about the 401 it got.
      if (err instanceof BambuApiError || err instanceof ConnectionError) throw unauthorized
      // The new tokens arrived but keeping them (`onTokens`) failed: that must not go unseen.
      throw err
    }
  }
}

/** The region's broker for the real cloud's API hosts; port 8883 on the API's host for any other server. */
function defaultMqttUrl(baseUrl: string): string {
  for (const region of Object.keys(REGION_BASE_URLS) as Region[]) {
    if (baseUrl === REGION_BASE_URLS[region]) return REGION_MQTT_URLS[region]
  }
  return `mqtts://${new URL(baseUrl).hostname}:8883`
}
