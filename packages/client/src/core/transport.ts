/**
 * One API call over `fetch`: the URL, headers and JSON body, a timeout per attempt, the
 * caller's abort signal, and retries of idempotent calls. Tokens are the client's
 * business; this file only sends the one it is given.
 */
import { sleep } from './abort.ts'
import { BambuApiError, ConnectionError, TimeoutError } from './errors.ts'
import { queryString, type QueryValue } from './path.ts'
import { IDEMPOTENT_METHODS, RETRY_STATUSES, retryDelay } from './retry.ts'

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** The last argument of every SDK method. */
export interface RequestOptions {
  /** Aborts the call (and any wait between retries); the call rejects with the signal's reason. */
  signal?: AbortSignal
  /** This call's timeout per attempt, instead of the client's `timeoutMs`. */
  timeoutMs?: number
  /** This call's retries, instead of the client's `maxRetries`. */
  maxRetries?: number
}

/** One endpoint call, before tokens. */
export interface ApiRequest {
  method: HttpMethod
  /** The path, already encoded (see `path`). */
  path: string
  query?: Record<string, QueryValue>
  /** Sent as JSON when defined. */
  body?: unknown
  /** false for routes that take no access token (logins, refresh, slicer resources). Default true. */
  auth?: boolean
}

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>

export interface TransportConfig {
  baseUrl: string
  fetch: FetchFunction
  timeoutMs: number
  maxRetries: number
  retryBaseDelayMs: number
}

interface Answer {
  status: number
  headers: Headers
  text: string
}

export class Transport {
  constructor(private readonly config: TransportConfig) {}

  /** Sends `request` with `accessToken` (if any), retrying what may be retried; resolves to the parsed body. */
  async send(request: ApiRequest, accessToken: string | undefined, options: RequestOptions = {}): Promise<unknown> {
    const url = this.config.baseUrl + request.path + queryString(request.query)
    const init = requestInit(request, accessToken)
    const maxRetries = options.maxRetries ?? this.config.maxRetries
    const retryable = IDEMPOTENT_METHODS.has(request.method)
    for (let attempt = 0; ; attempt++) {
      let answer: Answer
      try {
        answer = await this.attempt(url, init, options)
      } catch (err) {
        if (!(err instanceof ConnectionError) || !retryable || attempt >= maxRetries) throw err
        await sleep(retryDelay(attempt, null, this.config.retryBaseDelayMs), options.signal)
        continue
      }
      if (answer.status < 400) return parseSuccess(answer)
      if (!retryable || attempt >= maxRetries || !RETRY_STATUSES.has(answer.status)) {
        throw BambuApiError.from(answer.status, parseLoosely(answer.text), answer.headers)
      }
      await sleep(retryDelay(attempt, answer.headers.get('retry-after'), this.config.retryBaseDelayMs), options.signal)
    }
  }

  /**
   * A signed file URL (an upload or a download, not an API path): no token, no JSON. `init`
   * is called for each attempt, so a streamed body is made afresh. No timeout unless the
   * call names one (files can be large); the caller's signal aborts it. Resolves to the
   * response once its status is a success, its body unread.
   */
  async sendToUrl(url: string, init: () => RequestInit, options: RequestOptions = {}): Promise<Response> {
    const first = init()
    const method = (first.method ?? 'GET').toUpperCase() as HttpMethod
    const maxRetries = IDEMPOTENT_METHODS.has(method) ? (options.maxRetries ?? this.config.maxRetries) : 0
    for (let attempt = 0; ; attempt++) {
      let response: Response
      try {
        response = await this.fetchOnce(url, attempt === 0 ? first : init(), options.timeoutMs, options.signal, async (r) => r)
      } catch (err) {
        if (!(err instanceof ConnectionError) || attempt >= maxRetries) throw err
        await sleep(retryDelay(attempt, null, this.config.retryBaseDelayMs), options.signal)
        continue
      }
      if (response.ok) return response
      const text = await response.text()
      if (attempt >= maxRetries || !RETRY_STATUSES.has(response.status)) throw BambuApiError.from(response.status, parseLoosely(text), response.headers)
      await sleep(retryDelay(attempt, response.headers.get('retry-after'), this.config.retryBaseDelayMs), options.signal)
    }
  }

  /** One try, body included, under its own timeout and the caller's signal. */
  private attempt(url: string, init: RequestInit, options: RequestOptions): Promise<Answer> {
    return this.fetchOnce(url, init, options.timeoutMs ?? this.config.timeoutMs, options.signal, async (response) => ({
      status: response.status,
      headers: response.headers,
      text: await response.text(),
    }))
  }

  /** One fetch, and `read` of its response, within `timeoutMs` (if any) and until `signal` aborts. */
  private async fetchOnce<T>(
    url: string,
    init: RequestInit,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
    read: (response: Response) => Promise<T>,
  ): Promise<T> {
    signal?.throwIfAborted()
    const controller = new AbortController()
    let timedOut = false
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true
            controller.abort()
          }, timeoutMs)
    const onAbort = () => controller.abort(signal!.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    // Called as a plain function: browsers reject `fetch` called as a method of another object.
    const fetchImpl = this.config.fetch
    try {
      return await read(await fetchImpl(url, { ...init, signal: controller.signal }))
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      if (timedOut) throw new TimeoutError(timeoutMs!)
      throw new ConnectionError('Connection error.', { cause: err })
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }
}

function requestInit(request: ApiRequest, accessToken: string | undefined): RequestInit {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (accessToken !== undefined) headers.authorization = `Bearer ${accessToken}`
  if (request.body === undefined) return { method: request.method, headers }
  headers['content-type'] = 'application/json'
  return { method: request.method, headers, body: JSON.stringify(request.body) }
}

function parseSuccess(answer: Answer): unknown {
  if (answer.text === '') return undefined
  try {
    return JSON.parse(answer.text)
  } catch (err) {
    throw new BambuApiError(answer.status, answer.text, `${answer.status}: the answer is not JSON.`, { headers: answer.headers, cause: err })
  }
}

/** An error body: JSON when it is JSON, else the text (undefined when empty). */
function parseLoosely(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
