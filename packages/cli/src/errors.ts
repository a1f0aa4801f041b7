/**
 * How the CLI fails: every error becomes one line on stderr and an exit code. 0 success,
 * 1 the API (or the network) said no, 2 the command line was wrong or something it needs is
 * missing, 130 interrupted. Never a stack trace.
 */
import { AuthenticationError, BambuApiError, ConnectionError, TimeoutError } from '@bambu-cloud/client'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
export const EXIT_INTERRUPTED = 130

/**
 * The command line is wrong, or an input it needs is missing and cannot be asked for.
 *
 * @example
 * throw new UsageError('no password: set BAMBU_PASSWORD')   // "error: no password: ..." and exit 2
 */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** A failure that is not the API's answer and not a usage error (an unreadable file, say). Exit 1. */
export class CliError extends Error {
  override name = 'CliError'
}

/** Ctrl-C at a prompt or during `status --watch`: exit 130 without a message (the terminal shows ^C). */
export class Interrupted extends Error {
  override name = 'Interrupted'
}

/**
 * The one line (without the `error: ` prefix; empty: print nothing) and the exit code for any error.
 *
 * @example
 * describeError(err, 'http://localhost:8080')
 * // { line: 'Resource forbidden: permission denied (code 8, HTTP 403)', exitCode: 1 }
 */
export function describeError(err: unknown, baseUrl: string | undefined): { line: string; exitCode: number } {
  if (err instanceof UsageError) return { line: err.message, exitCode: EXIT_USAGE }
  if (err instanceof Interrupted) return { line: '', exitCode: EXIT_INTERRUPTED }
  if (err instanceof BambuApiError) {
    let line = apiErrorLine(err)
    // Code 4 is a user's token refused (even after a refresh); the admin API uses 1010.
    if (err instanceof AuthenticationError && err.code === 4) line += '; log in with `bambu-cloud login`'
    return { line, exitCode: EXIT_FAILURE }
  }
  const where = baseUrl ?? 'the server'
  if (err instanceof TimeoutError) return { line: `${where} did not answer in time`, exitCode: EXIT_FAILURE }
  if (err instanceof ConnectionError) {
    // The MQTT side names its broker itself; anything else failed to reach the API.
    const what = err.message.startsWith('cannot reach') ? err.message : `cannot reach ${where}`
    return { line: `${what}${reason(err.cause)}`, exitCode: EXIT_FAILURE }
  }
  if (err instanceof Error) return { line: oneLine(err.message || err.name), exitCode: EXIT_FAILURE }
  return { line: oneLine(String(err)), exitCode: EXIT_FAILURE }
}

/** `<error>: <message> (code N, HTTP S)`, from the API's error envelope. */
export function apiErrorLine(err: BambuApiError): string {
  const body = typeof err.body === 'object' && err.body !== null ? (err.body as { message?: unknown }) : {}
  const detail = typeof body.message === 'string' && body.message !== '' ? body.message : null
  const parts = [err.error, detail].filter((p): p is string => p !== null && p !== '')
  const text = parts.length > 0 ? parts.join(': ') : err.message
  const tail = err.code === null ? `HTTP ${err.status}` : `code ${err.code}, HTTP ${err.status}`
  return `${oneLine(text)} (${tail})`
}

/** `: ECONNREFUSED` and the like, from the chain of causes under a failed fetch. */
function reason(cause: unknown): string {
  let innermost = ''
  for (let c = cause, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
    const code = (c as NodeJS.ErrnoException).code
    if (typeof code === 'string') return ` (${code})`
    if (c.message) innermost = c.message
  }
  return innermost ? ` (${oneLine(innermost)})` : ''
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
