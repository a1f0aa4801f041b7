/**
 * Schema validation: bodies are checked strictly (a number is not a string), while query
 * strings and path parameters are coerced, since on the wire they are always text.
 */
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'

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

export function registerValidation(app: FastifyInstance): void {
  const strict = makeAjv(false)
  const coercing = makeAjv(true)
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? strict.compile(schema) : coercing.compile(schema),
  )
}
