/**
 * The one table of every error the server can answer with.
 *
 * Codes 1-99 are the real cloud's own (clients branch on them); codes from 1000 up are
 * ours, for failures the cloud never documented (malformed JSON, unknown routes, ...).
 * Every error body is rendered from an entry here: `{"code","error"}` plus `"message"`
 * where the entry (or the raise site) gives one.
 */
export interface ErrorEntry {
  /** The `code` field of the body. */
  readonly code: number
  /** The HTTP status. */
  readonly status: number
  /** The `error` field of the body. */
  readonly error: string
  /** The `message` field; omitted from the body when undefined. */
  readonly message?: string
}

function entry(code: number, status: number, error: string, message?: string): ErrorEntry {
  return message === undefined ? { code, status, error } : { code, status, error, message }
}

export const ErrorTable = {
  /** An emailed/SMS login code that has expired, was spent, or took too many wrong tries. */
  codeExpired: entry(1, 400, 'Code expired'),
  /** Wrong password or unknown account: identical for both, by design. */
  incorrectPassword: entry(2, 400, 'Incorrect password'),
  incorrectCode: entry(2, 400, 'Incorrect code'),
  unauthorized: entry(4, 401, 'Please login.', ''),
  loginFailed: entry(5, 400, 'Login failed'),
  forbidden: entry(8, 403, 'Resource forbidden', 'permission denied'),
  presetQuotaExceeded: entry(14, 400, 'Preset quota exceeded'),
  /** A required query field is absent (the slicer-setting route words it this way). */
  fieldNotSet: entry(1000, 400, 'Invalid input parameters'),
  invalidInput: entry(1001, 422, 'Invalid input parameters'),
  badRequest: entry(1002, 400, 'Bad request'),
  malformedJson: entry(1003, 400, 'Malformed JSON'),
  notFound: entry(1004, 404, 'Not found'),
  methodNotAllowed: entry(1005, 405, 'Method not allowed'),
  conflict: entry(1006, 409, 'Conflict'),
  payloadTooLarge: entry(1007, 413, 'Request body too large'),
  unsupportedMediaType: entry(1008, 415, 'Unsupported media type'),
  tooManyRequests: entry(1009, 429, 'Too many requests'),
  adminUnauthorized: entry(1010, 401, 'Admin token required', ''),
  internal: entry(1011, 500, 'Internal server error'),
  unavailable: entry(1012, 503, 'Service unavailable'),
  /** A signed file URL whose signature is missing or does not match its path. */
  signatureMismatch: entry(1013, 403, 'Signature does not match', 'The URL’s signature is missing or invalid'),
  /** A signed upload URL past its expiry. */
  urlExpired: entry(1014, 403, 'Request has expired', 'The upload URL has expired'),
  /** An upload ticket (or its URL) presented again after it was used. */
  ticketUsed: entry(1015, 409, 'Ticket already used'),
  /** An upload the server could not accept or process; `message` says why. */
  uploadFailed: entry(1016, 422, 'Upload failed'),
  /** A client too slow to send its request (headers, body, or an upload's bytes); the connection closes. */
  requestTimeout: entry(1017, 408, 'Request timeout'),
  /** Request line and headers past the HTTP parser's limit; the connection closes. */
  headersTooLarge: entry(1018, 431, 'Request header fields too large', 'The request line and headers are larger than the server accepts'),
  /** A path parameter longer than the router accepts. */
  uriTooLong: entry(1019, 414, 'URI too long', 'A path segment of the URL is too long'),
  /** An upload that would take its user past USER_STORAGE_QUOTA; `message` gives the quota. */
  storageQuotaExceeded: entry(1020, 413, 'Storage quota exceeded'),
} as const satisfies Record<string, ErrorEntry>

export type ErrorName = keyof typeof ErrorTable

/** The wire body of an error. */
export interface ErrorBody {
  code: number
  error: string
  message?: string
}

/** Renders the wire body of an error; `message` overrides the table's message. */
export function errorBody(name: ErrorName, message?: string): ErrorBody {
  const e: ErrorEntry = ErrorTable[name]
  const text = message ?? e.message
  return text === undefined ? { code: e.code, error: e.error } : { code: e.code, error: e.error, message: text }
}

/** Why the web host refused a request for its CSRF check (double submit: cookie and header). */
export type CsrfFailure = 'missing_cookie' | 'missing_header' | 'mismatch'

/**
 * The web host's 403 body for a failed CSRF check. It is not the envelope above: clients of
 * the web host read it in the shape the real web host answers it.
 */
export function csrfErrorBody(reason: CsrfFailure): { error: string; reason: CsrfFailure } {
  return { error: `CSRF error: ${reason}`, reason }
}

/** The generic entry for an HTTP status, for errors raised outside our own code. */
export function errorNameForStatus(status: number): ErrorName {
  switch (status) {
    case 401: return 'unauthorized'
    case 403: return 'forbidden'
    case 404: return 'notFound'
    case 405: return 'methodNotAllowed'
    case 408: return 'requestTimeout'
    case 409: return 'conflict'
    case 413: return 'payloadTooLarge'
    case 414: return 'uriTooLong'
    case 415: return 'unsupportedMediaType'
    case 422: return 'invalidInput'
    case 429: return 'tooManyRequests'
    case 431: return 'headersTooLarge'
    case 503: return 'unavailable'
    default: return status >= 500 ? 'internal' : 'badRequest'
  }
}
