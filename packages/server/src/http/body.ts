/**
 * Request bodies as real clients send them: JSON with or without a Content-Type, an empty
 * JSON body meaning `{}`, DELETE fields in the body or the query, and the sign-in page's
 * URL-encoded form.
 */
import secureJson from 'secure-json-parse'
import type { FastifyInstance } from 'fastify'
import { ApiError } from '../errors.ts'

function parseJson(text: string): unknown {
  if (text.trim() === '') return {}
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })
  } catch {
    throw new ApiError('malformedJson', 'The request body is not valid JSON')
  }
}

export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  const json = (_req: unknown, body: string | Buffer, done: (err: Error | null, value?: unknown) => void) => {
    try {
      done(null, parseJson(body.toString()))
    } catch (err) {
      done(err as Error)
    }
  }
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, json)
  app.addContentTypeParser(/^application\/[\w.+-]*json$/, { parseAs: 'string' }, json)
  // No Content-Type (or one we do not know): real clients still mean JSON.
  app.addContentTypeParser('*', { parseAs: 'string' }, json)
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (req, body, done) => {
    const text = body.toString()
    // Tools like curl label JSON as a form by default; a body that is JSON is JSON.
    if (/^\s*[[{]/.test(text)) return json(req, text, done)
    done(null, Object.fromEntries(new URLSearchParams(text)))
  })

  app.addHook('preValidation', async (request) => {
    const method = request.method
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return
    if (request.body === undefined || request.body === null) request.body = {}
    if (method === 'DELETE' && typeof request.body === 'object' && !Array.isArray(request.body)) {
      request.body = { ...(request.query as object), ...(request.body as object) }
    }
  })
}
