/**
 * A bounded, seeded fuzzer over every operation of /openapi.json (so new routes are covered
 * without touching this file): malformed, oversized, wrong-typed, NUL-bearing and extreme
 * values in paths, queries, headers and bodies, as a user, as the admin, and anonymously.
 * Most requests go through `inject`; a share goes byte for byte over a real socket, where
 * URLs and headers can be truly hostile. Never a 5xx, every 4xx in the error envelope, and
 * the server still answers /healthz afterwards. FUZZ_SEED replays a run.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { ADMIN_TOKEN, addDevice, startTestApp, type TestApp } from './helpers/app.ts'
import { rawExchange, rawRequestText } from './helpers/raw-http.ts'

const SEED = process.env.FUZZ_SEED === undefined ? 20261208 : Number(process.env.FUZZ_SEED)
const INJECTED_CASES = 1500
const SOCKET_CASES = 500
const DEV_ID = '00M00A9A0000001'

type Schema = Record<string, unknown> & { $ref?: string; type?: string; properties?: Record<string, Schema> }

interface Operation {
  method: string
  path: string
  auth: 'none' | 'user' | 'admin'
  pathParams: { name: string; schema: Schema }[]
  queryParams: { name: string; schema: Schema }[]
  body?: Schema
}

/** One generated request, printed as the counterexample when a property fails. */
interface FuzzRequest {
  method: string
  url: string
  credential: 'user' | 'admin' | 'none' | 'garbage'
  headers: [string, string][]
  body?: string
}

function operationsOf(doc: { paths: Record<string, Record<string, Record<string, unknown>>> }): Operation[] {
  const ops: Operation[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const security = (op.security as Record<string, unknown>[] | undefined) ?? []
      const scheme = security.length === 0 ? 'none' : Object.keys(security[0]!)[0] === 'admin' ? 'admin' : 'user'
      const params = (op.parameters as { in: string; name: string; schema: Schema }[] | undefined) ?? []
      const content = (op.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)?.content
      ops.push({
        method: method.toUpperCase(),
        path,
        auth: scheme,
        pathParams: params.filter((p) => p.in === 'path'),
        queryParams: params.filter((p) => p.in === 'query'),
        ...(content?.['application/json'] ? { body: content['application/json'].schema } : {}),
      })
    }
  }
  return ops
}

const hostileStrings = [
  '\u0000', 'a\u0000b', '%00', '\u0000\u0000\u0000', '', ' ', '..', '../../etc/passwd', '%', '%zz', '%E0%A4%A', '\uD800', '😀',
  "' OR 1=1 --", '"; DROP TABLE users; --', '{}', '[]', 'null', 'true', '-1', '0', '1.5', '1e309', 'NaN', '-0',
  '9007199254740993', '9223372036854775808', '18446744073709551616', '-9223372036854775809', '99999999999999999999999999',
  'x'.repeat(300), 'é'.repeat(2000), '\r\nX-Injected: 1', '<script>alert(1)</script>', '\\u0000',
]
const hostileNumbers = [
  2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, -(2 ** 63), -(2 ** 53) - 2, 1e20, 1e300, -1e300, -1, -0, 0.5, 5e-324,
  Number.MAX_SAFE_INTEGER, Number.MAX_VALUE,
]

const hostileString = fc.oneof(
  fc.constantFrom(...hostileStrings),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`),
  fc.integer({ min: 1, max: 20000 }).map((n) => 'A'.repeat(n)),
)
const hostileNumber = fc.oneof(fc.constantFrom(...hostileNumbers), fc.double(), fc.integer())
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.constantFrom(null, true, false, [], {}, [null], { '\u0000': 1 }, { __proto: 1 }),
  fc.jsonValue({ maxDepth: 3 }),
)

function resolve(schema: Schema, components: Record<string, Schema>): Schema {
  return schema.$ref ? resolve(components[schema.$ref.split('/').pop()!] ?? {}, components) : schema
}

/** Values shaped like the schema most of the time (so they get past validation and into the domain), hostile otherwise. */
function valueFor(schema: Schema, components: Record<string, Schema>, known: string[], depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema, components)
  const shaped = shapedFor(s, components, known, depth)
  return shaped === undefined ? hostileValue : fc.oneof({ weight: 3, arbitrary: shaped }, { weight: 1, arbitrary: hostileValue })
}

function shapedFor(s: Schema, components: Record<string, Schema>, known: string[], depth: number): fc.Arbitrary<unknown> | undefined {
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]))
  if (s.const !== undefined) return fc.constant(s.const)
  const union = (s.anyOf ?? s.oneOf) as Schema[] | undefined
  if (union) return fc.oneof(...union.map((u) => valueFor(u, components, known, depth + 1)))
  switch (s.type) {
    case 'string':
      return fc.oneof(fc.constantFrom(...known), fc.string({ maxLength: 24 }), hostileString)
    case 'integer':
    case 'number':
      return fc.oneof(fc.integer({ min: 0, max: 50 }), fc.constantFrom(...hostileNumbers), hostileString)
    case 'boolean':
      return fc.oneof(fc.boolean(), fc.constantFrom('true', 0, 1))
    case 'array':
      return depth > 3 ? fc.constant([]) : fc.array(valueFor((s.items as Schema) ?? {}, components, known, depth + 1), { maxLength: 3 })
    case 'object': {
      if (depth > 3) return fc.constant({})
      const props = Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, valueFor(v, components, known, depth + 1)]))
      const required = (s.required as string[] | undefined) ?? []
      return fc.tuple(fc.record(props, { requiredKeys: required.filter((k) => k in props) }), fc.option(fc.tuple(hostileString, hostileValue), { freq: 4 })).map(
        ([record, extra]) => (extra === null ? record : { ...record, [extra[0]]: extra[1] }),
      )
    }
    default:
      return undefined
  }
}

/** A body that is not the JSON the schema asks for: broken, deeply nested, NUL-bearing, huge numbers. */
const hostileBodyText = fc.oneof(
  fc.constantFrom(
    '{"account":', 'not json', '\u0000', '{"a\u0000b":1}', '{"account":"a\\u0000b","password":"x"}', '[1,2', '{"a":1}}', 'null', '"str"', '12',
    '{"limit":1e400}', '{"id":99999999999999999999999999999}', '{"plateIndex":-1e400}', '\uFEFF{}', '{"__proto__":{"x":1}}',
    '{"constructor":{"prototype":{"x":1}}}', '\xff\xfe',
  ),
  fc.integer({ min: 1, max: 20000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1, max: 5000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
  fc.string({ unit: 'binary', maxLength: 60 }),
)

/** Percent-encodes any text; a lone surrogate (which has no UTF-8 form) becomes U+FFFD first. */
const encode = (text: string) => encodeURIComponent(text.replace(/\p{Cs}/gu, '\uFFFD'))

function requestFor(op: Operation, components: Record<string, Schema>, known: string[]): fc.Arbitrary<FuzzRequest> {
  const segment = (schema: Schema) =>
    fc.oneof(
      { weight: 3, arbitrary: valueFor(schema, components, known).map((v) => encode(typeof v === 'string' ? v : JSON.stringify(v) ?? '')) },
      { weight: 1, arbitrary: fc.constantFrom('%00', '%zz', '%', '%E0%A4%A', 'a'.repeat(500), '..', '%2e%2e', '-1', '1e400', '9223372036854775808') },
    )
  const pathArb = fc.tuple(...op.pathParams.map((p) => segment(p.schema))).map((values) => {
    let i = 0
    return op.path.replace(/\{[^}]+\}/g, () => values[i++] ?? '')
  })
  const queryArb = fc
    .array(
      fc.oneof(
        ...op.queryParams.map((p) => valueFor(p.schema, components, known).map((v) => [p.name, typeof v === 'string' ? v : JSON.stringify(v) ?? ''] as [string, string])),
        fc.tuple(hostileString, hostileString),
      ),
      { maxLength: op.queryParams.length + 1 },
    )
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')}`))
  const bodyArb: fc.Arbitrary<string | undefined> = ['GET', 'HEAD'].includes(op.method)
    ? fc.constant(undefined)
    : fc.oneof(
        { weight: 4, arbitrary: (op.body ? valueFor(op.body, components, known) : hostileValue).map((v) => JSON.stringify(v) ?? '') },
        { weight: 1, arbitrary: hostileBodyText },
      )
  const credential = fc.oneof(
    { weight: 6, arbitrary: fc.constant(op.auth === 'none' ? ('user' as const) : op.auth) },
    { weight: 1, arbitrary: fc.constantFrom('none' as const, 'garbage' as const, op.auth === 'admin' ? ('user' as const) : ('admin' as const)) },
  )
  const headers = fc.array(
    fc.oneof(
      fc.constantFrom<[string, string]>(
        ['content-type', 'application/json'], ['content-type', 'text/plain'], ['content-type', 'application/x-www-form-urlencoded'],
        ['content-type', 'multipart/form-data; boundary=x'], ['content-type', 'application/json; charset=utf-16'], ['accept-encoding', 'gzip'],
        ['x-bbl-client-type', 'slicer'], ['x-bbl-language', '\u00e9'], ['cookie', 'token=%zz; a=\u00ff'], ['x-forwarded-for', '::1, 999.1.1.1'],
        ['if-none-match', '*'], ['range', 'bytes=99999999999999999999-'], ['expect', '100-continue'],
      ),
      fc.tuple(fc.constantFrom('x-fuzz', 'user-agent', 'referer', 'origin'), fc.string({ maxLength: 30 })),
    ),
    { maxLength: 2 },
  )
  return fc.record({
    method: fc.constant(op.method),
    url: fc.tuple(pathArb, queryArb).map(([p, q]) => p + q),
    credential,
    headers,
    body: bodyArb,
  })
}

/** Requests only a socket carries: broken URLs and header values an HTTP client refuses to send. */
const socketOnly = fc.oneof(
  fc.record({
    target: fc.constantFrom('/v1/user-service/my/tasks?limit=%zz', '/v1/iot-service/api/user/task/%00', '/%', '/admin/v1/devices/%E0%A4%A', '/v1/user-service/my/ticket/' + 'a'.repeat(3000), '/' + 'x'.repeat(9000), '*', 'http://evil.example/healthz', '/v1/user-service/my/tasks?a=\u00ff'),
    header: fc.constant<[string, string] | undefined>(undefined),
  }),
  fc.record({
    target: fc.constantFrom('/v1/user-service/my/profile', '/admin/v1/users', '/v1/user-service/user/login'),
    header: fc.constantFrom<[string, string] | undefined>(
      ['Authorization', 'Bearer a\u0000b'], ['Authorization', `Bearer ${'A'.repeat(10_000)}`], ['Authorization', `Bearer ${'A'.repeat(20_000)}`],
      ['Authorization', 'Basic %%%'], ['Authorization', '\u00ff\u00fe'], ['X-Big', 'b'.repeat(40_000)], ['Content-Length', '-1'], ['Transfer-Encoding', 'chunked, identity'],
    ),
  }),
)

/** fast-check keeps the failed assertion in `cause`; the test report shows only the message, so both go there. */
async function assertProperty<T>(property: fc.IAsyncPropertyWithHooks<T>, params: fc.Parameters<T>) {
  try {
    await fc.assert(property, params)
  } catch (err) {
    const cause = (err as Error).cause
    throw new Error(`${(err as Error).message}\n${cause instanceof Error ? cause.message : ''}`)
  }
}

interface Outcome {
  status: number
  contentType: string
  body: string
}

/** Never a 5xx; every 4xx a JSON envelope: `code` a number, `error` a string, `message` a string when present, nothing else. */
function checkOutcome(res: Outcome) {
  const where = `${res.status} ${res.body.slice(0, 300)}`
  assert.ok(res.status < 500, `5xx: ${where}`)
  if (res.status < 400) return
  assert.match(res.contentType, /^application\/json/, `not JSON: ${where}`)
  const body = JSON.parse(res.body) as Record<string, unknown>
  assert.equal(typeof body.code, 'number', `code: ${where}`)
  assert.equal(typeof body.error, 'string', `error: ${where}`)
  if ('message' in body) assert.equal(typeof body.message, 'string', `message: ${where}`)
  assert.deepEqual(Object.keys(body).filter((k) => !['code', 'error', 'message'].includes(k)), [], `extra fields: ${where}`)
}

/**
 * A user whose token keeps working, owning the printer DEV_ID: a case may log the user out,
 * disable or delete it, or delete the printer, so a fresh pair is made when needed.
 */
function userSessions(s: TestApp) {
  let token: string | undefined
  let n = 0
  return {
    async token() {
      if (token !== undefined) {
        const probe = await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: { authorization: `Bearer ${token}` } })
        const printer = await s.admin({ method: 'GET', url: `/admin/v1/devices/${DEV_ID}` })
        if (probe.statusCode === 200 && printer.statusCode === 200) return token
      }
      const account = `fuzz${n++}@example.com`
      await s.createUser(account)
      token = (await s.login(account)).accessToken
      await s.admin({ method: 'DELETE', url: `/admin/v1/devices/${DEV_ID}` })
      await addDevice(s, account, DEV_ID)
      return token
    },
  }
}

test('every OpenAPI operation survives hostile input: no 5xx, 4xx in the envelope, still serving', { timeout: 600_000 }, async (t) => {
  t.diagnostic(`FUZZ_SEED=${SEED}`)
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ADDRESS: '1000000' })
  await s.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (s.app.server.address() as AddressInfo).port
  const sessions = userSessions(s)
  await sessions.token()
  const doc = (await s.request({ method: 'GET', url: '/openapi.json' })).json()
  const components = (doc.components?.schemas ?? {}) as Record<string, Schema>
  const known = [DEV_ID, '1', '2', 'fuzz0@example.com', 'BL-P001', 'default', 'upload']
  const ops = operationsOf(doc)
  assert.ok(ops.length > 40, `only ${ops.length} operations in /openapi.json`)

  const credentialHeader = async (c: FuzzRequest['credential']): Promise<[string, string][]> =>
    c === 'user' ? [['authorization', `Bearer ${await sessions.token()}`]]
      : c === 'admin' ? [['authorization', `Bearer ${ADMIN_TOKEN}`]]
        : c === 'garbage' ? [['authorization', 'Bearer not-a-token']] : []

  const anyRequest = fc.oneof(...ops.map((op) => requestFor(op, components, known)))

  await assertProperty(
    fc.asyncProperty(anyRequest, async (request) => {
      const headers = Object.fromEntries([...request.headers, ...(await credentialHeader(request.credential))])
      const res = await s.app.inject({ method: request.method as 'GET', url: request.url, headers, ...(request.body === undefined ? {} : { payload: request.body }) })
      checkOutcome({ status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), body: res.body })
    }),
    { seed: SEED, numRuns: INJECTED_CASES },
  )

  await assertProperty(
    fc.asyncProperty(fc.oneof({ weight: 3, arbitrary: anyRequest }, { weight: 1, arbitrary: socketOnly }), async (request) => {
      const text = 'target' in request
        ? rawRequestText('GET', request.target, [...(request.header ? [request.header] : []), ...(await credentialHeader('user'))])
        : rawRequestText(request.method, request.url, [...request.headers, ...(await credentialHeader(request.credential))], request.body ?? '')
      const res = await rawExchange(port, text)
      checkOutcome({ status: res.status, contentType: res.headers['content-type'] ?? '', body: res.body })
    }),
    { seed: SEED + 1, numRuns: SOCKET_CASES },
  )

  const health = await rawExchange(port, rawRequestText('GET', '/healthz'))
  assert.equal(health.status, 200, health.body)
})
