/**
 * Logger options: request lines without secrets. Headers and bodies are never logged;
 * URLs lose ticket path segments and the values of sensitive query parameters.
 */
import type { FastifyServerOptions } from 'fastify'

const SENSITIVE_QUERY = /^(token|access_?token|refresh_?token|ticket|code|password|passwd|tfa_?code|tfa_?key|signature|sig)$/i

/** A URL safe to log: `/user/ticket/<T>` and sensitive query values become `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  const path = (q < 0 ? url : url.slice(0, q)).replace(/(\/user\/ticket\/)[^/?#]+/i, '$1[redacted]')
  if (q < 0) return path
  const params = new URLSearchParams(url.slice(q + 1))
  const kept: string[] = []
  for (const [k, v] of params) kept.push(`${encodeURIComponent(k)}=${SENSITIVE_QUERY.test(k) ? '[redacted]' : encodeURIComponent(v)}`)
  return `${path}?${kept.join('&')}`
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
        return { method: request.method, url: redactUrl(request.url), remoteAddress: request.ip }
      },
    },
  }
}
