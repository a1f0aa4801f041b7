/**
 * The SDK's errors, all a `BambuCloudError`. An answer with a failing HTTP status becomes a
 * `BambuApiError`, made by one factory (`BambuApiError.from`) that picks the subclass from
 * the status. Failing to get an answer at all is a `ConnectionError` (or its `TimeoutError`),
 * never an API error. Messages are built from the status and the error body only, so they
 * never carry a token.
 */

/**
 * The root of every error the SDK throws; what led to it, if anything, is `cause`.
 *
 * @example
 * try {
 *   await cloud.devices.list()
 * } catch (err) {
 *   if (err instanceof BambuCloudError) console.log(err.name, err.message, err.cause)
 * }
 */
export class BambuCloudError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/** The error envelope the API answers with: `{"code","error","message"?}`. */
interface ErrorEnvelope {
  code?: unknown
  error?: unknown
  message?: unknown
}

/**
 * An answer with a failing HTTP status (or, rarely, a success that is not JSON).
 *
 * @example
 * try {
 *   await cloud.slicer.settings.get('PFUS0000')
 * } catch (err) {
 *   if (err instanceof BambuApiError) console.log(err.status, err.code, err.error)
 *   if (err instanceof RateLimitError) console.log('try again in', err.headers.get('retry-after'), 's')
 * }
 */
export class BambuApiError extends BambuCloudError {
  /** The HTTP status. */
  readonly status: number
  /** The body's `code` (the cloud's own below 1000, e.g. 4 "please login"); null when absent. */
  readonly code: number | null
  /** The body's `error`, e.g. `"Resource forbidden"`; null when absent. */
  readonly error: string | null
  /** The parsed body as it came (JSON, or the text when it was not JSON; undefined when empty). */
  readonly body: unknown
  /** The answer's headers (a 429's `Retry-After`, say); empty when there was no HTTP answer. */
  readonly headers: Headers

  constructor(status: number, body: unknown, message?: string, options: { headers?: Headers; cause?: unknown } = {}) {
    const envelope: ErrorEnvelope = typeof body === 'object' && body !== null ? body : {}
    const code = typeof envelope.code === 'number' ? envelope.code : null
    const error = typeof envelope.error === 'string' ? envelope.error : null
    const detail = typeof envelope.message === 'string' && envelope.message !== '' ? envelope.message : null
    super(message ?? describe(status, code, error, detail), { cause: options.cause })
    this.status = status
    this.code = code
    this.error = error
    this.body = body
    this.headers = options.headers ?? new Headers()
  }

  /** The one factory: the subclass that matches `status`, or this class for other statuses. */
  static from(status: number, body: unknown, headers?: Headers): BambuApiError {
    const Class = classForStatus(status)
    return new Class(status, body, undefined, { headers })
  }
}

function describe(status: number, code: number | null, error: string | null, detail: string | null): string {
  let text = String(status)
  if (error !== null) text += ` ${error}`
  if (code !== null) text += ` (code ${code})`
  if (detail !== null) text += `: ${detail}`
  return text
}

/** 400: the request was refused as it is (wrong password is code 2, expired code 1, ...). */
export class BadRequestError extends BambuApiError {}
/** 401: no valid access token (code 4, "Please login."), after one refresh was tried. */
export class AuthenticationError extends BambuApiError {}
/** 403: not yours (code 8, "Resource forbidden"). */
export class PermissionDeniedError extends BambuApiError {}
/** 404: no such route or thing. */
export class NotFoundError extends BambuApiError {}
/** 422: a parameter has the wrong form (a slicer version that is not four numbers, say). */
export class UnprocessableEntityError extends BambuApiError {}
/** 429: too many requests; idempotent calls were retried first. */
export class RateLimitError extends BambuApiError {}
/** 500 and above. */
export class InternalServerError extends BambuApiError {}

function classForStatus(status: number): typeof BambuApiError {
  switch (status) {
    case 400: return BadRequestError
    case 401: return AuthenticationError
    case 403: return PermissionDeniedError
    case 404: return NotFoundError
    case 422: return UnprocessableEntityError
    case 429: return RateLimitError
    default: return status >= 500 ? InternalServerError : BambuApiError
  }
}

/**
 * No answer: the server could not be reached or the connection broke. The underlying
 * failure is `cause`.
 *
 * @example
 * try {
 *   await cloud.devices.list()
 * } catch (err) {
 *   if (err instanceof ConnectionError) console.log('server unreachable')
 * }
 */
export class ConnectionError extends BambuCloudError {
  constructor(message = 'Connection error.', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** No answer within `timeoutMs` (per attempt). A kind of `ConnectionError`. */
export class TimeoutError extends ConnectionError {
  constructor(timeoutMs: number) {
    super(`Request timed out after ${timeoutMs} ms.`)
  }
}
