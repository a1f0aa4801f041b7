/**
 * Schema validation: bodies are checked strictly (a number is not a string), while query
 * strings and path parameters are coerced, since on the wire they are always text.
 *
 * Two rules hold for every route, whatever its schema says, because the databases cannot
 * keep what they forbid: no string or key may hold U+0000 (PostgreSQL text refuses it), and
 * every integer lies within ±(2^53 - 1) (the exact range of a JSON number, and well inside
 * the 64-bit columns).
 */
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiError } from '../errors.ts'

function makeAjv(coerce: boolean) {
  const ajv = new Ajv({
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    strict: false,
  })
  addFormats.default(ajv)
  return ajv
}

/** A copy of the schema whose integers are bounded to the safe range (tighter bounds stay). */
function withSafeIntegers(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withSafeIntegers)
  if (schema === null || typeof schema !== 'object') return schema
  const copy: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) copy[key] = withSafeIntegers(value)
  const type = copy.type
  if (type === 'integer' || (Array.isArray(type) && type.includes('integer'))) {
    copy.minimum = Math.max(typeof copy.minimum === 'number' ? copy.minimum : -Infinity, -Number.MAX_SAFE_INTEGER)
    copy.maximum = Math.min(typeof copy.maximum === 'number' ? copy.maximum : Infinity, Number.MAX_SAFE_INTEGER)
  }
  return copy
}

/** Where in a parsed value a string or key holds U+0000 (`/a/0`), or undefined. Iterative: bodies may nest deeply. */
function nulPath(value: unknown): string | undefined {
  const pending: [unknown, string][] = [[value, '']]
  while (pending.length > 0) {
    const [item, path] = pending.pop()!
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return path
    } else if (Array.isArray(item)) {
      item.forEach((v, i) => pending.push([v, `${path}/${i}`]))
    } else if (item !== null && typeof item === 'object' && !ArrayBuffer.isView(item)) {
      for (const [k, v] of Object.entries(item)) {
        if (k.includes('\u0000')) return `${path}/${k.replaceAll('\u0000', '\\u0000')}`
        pending.push([v, `${path}/${k}`])
      }
    }
  }
  return undefined
}

function refuseNul(request: FastifyRequest): void {
  const parts = { params: request.params, querystring: request.query, body: request.body } as const
  for (const [part, value] of Object.entries(parts)) {
    const at = nulPath(value)
    if (at !== undefined) throw new ApiError('badRequest', `${part}${at} must not contain a NUL character (U+0000)`)
  }
}

export function registerValidation(app: FastifyInstance): void {
  const strict = makeAjv(false)
  const coercing = makeAjv(true)
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(withSafeIntegers(schema) as object),
  )
  app.addHook('preValidation', async (request) => refuseNul(request))
}
