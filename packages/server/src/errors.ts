/** The one error type our code raises; the error handler renders it from the table. */
import { ErrorTable, errorBody, type ErrorBody, type ErrorName } from '@bambu-cloud/protocol'

export class ApiError extends Error {
  override readonly name = 'ApiError'
  readonly status: number
  readonly body: ErrorBody
  /** Extra response headers (Retry-After on 429). */
  readonly headers: Record<string, string>

  constructor(readonly kind: ErrorName, message?: string, headers: Record<string, string> = {}) {
    super(message ?? ErrorTable[kind].error)
    this.status = ErrorTable[kind].status
    this.body = errorBody(kind, message)
    this.headers = headers
  }
}
