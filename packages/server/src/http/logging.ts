/**
 * Logger options: request lines without secrets. Headers and bodies are never logged, and
 * one rule (`redactSecrets`) runs over every line the logger writes, so a URL is redacted
 * wherever it appears: request lines, error messages, the framework's own warnings.
 */
import type { FastifyServerOptions } from 'fastify'

/** The rest of a path after a `ticket` segment (`/user/ticket/<T>`, `/my/ticket/<T>`). */
const TICKET_PATH = /(\/ticket\/)[^?#\s"\\]+/gi
/** The value of a query parameter that carries a credential (`?sig=`, `?token=`, `?code=`, ...). */
const SENSITIVE_QUERY =
  /([?&](?:token|access_?token|refresh_?token|ticket|code|password|passwd|tfa_?code|tfa_?key|signature|sig)=)[^&#\s"\\]*/gi

/** Text safe to log: ticket path segments and sensitive query values become `[redacted]`. */
export function redactSecrets(text: string): string {
  return text.replace(TICKET_PATH, '$1[redacted]').replace(SENSITIVE_QUERY, '$1[redacted]')
}

export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.code', '*.token', '*.accessToken', '*.refreshToken'],
      censor: '[redacted]',
    },
    serializers: {
      req(request: { method: string; url: string; ip?: string }) {
        return { method: request.method, url: request.url, remoteAddress: request.ip }
      },
    },
    hooks: { streamWrite: redactSecrets },
  }
}
