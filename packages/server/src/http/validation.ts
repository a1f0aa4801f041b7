/**
 * Schema validation: bodies are checked strictly (a number is not a string), while query
 * strings and path parameters are coerced, since on the wire they are always text.
 *
 * Three rules hold for every route, whatever its schema says, because the server cannot
 * keep what they forbid: no string or key may hold U+0000 (PostgreSQL text refuses it),
 * no value nests deeper than MAX_DEPTH, and every integer lies within ±(2^53 - 1) (the
 * exact range of a JSON number, and well inside the 64-bit columns).
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

/**
 * Deeper than any wire shape (a printer report nests about six levels); much deeper input
 * would exhaust the stack of recursive code further on (JSON.stringify, say).
 */
const MAX_DEPTH = 64

/** A key as an error message names it: NUL spelled out, and never longer than a line. */
function printable(key: string): string {
  const shown = key.replaceAll('\u0000', '\\u0000')
  return shown.length > 64 ? `${shown.slice(0, 64)}…` : shown
}

/** Why a parsed value cannot be kept (a NUL in a string or key, or nesting past MAX_DEPTH), or undefined. Iterative, so depth itself is safe. */
function unstorable(value: unknown, part: string): string | undefined {
  const pending: [unknown, string, number][] = [[value, part, 0]]
  while (pending.length > 0) {
    const [item, path, depth] = pending.pop()!
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return `${path} must not contain a NUL character (U+0000)`
      continue
    }
    if (item === null || typeof item !== 'object' || ArrayBuffer.isView(item)) continue
    if (depth === MAX_DEPTH) return `${part} must not nest deeper than ${MAX_DEPTH} levels`
    for (const [k, v] of Object.entries(item)) {
      const at = `${path}/${printable(k)}`
      if (k.includes('\u0000')) return `${at} must not contain a NUL character (U+0000)`
      pending.push([v, at, depth + 1])
    }
  }
  return undefined
}

function refuseUnstorable(request: FastifyRequest): void {
  const parts = { params: request.params, querystring: request.query, body: request.body }
  for (const [part, value] of Object.entries(parts)) {
    const problem = unstorable(value, part)
    if (problem !== undefined) throw new ApiError('badRequest', problem)
  }
}

export function registerValidation(app: FastifyInstance): void {
  const strict = makeAjv(false)
  const coercing = makeAjv(true)
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(withSafeIntegers(schema) as object),
  )
  app.addHook('preValidation', async (request) => refuseUnstorable(request))
}
