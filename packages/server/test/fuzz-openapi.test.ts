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
/** Stands for an array nested `n` deep; `bodyText` expands it (JSON.stringify itself would run out of stack). */
const DEEP = '\u0001deep:'
const deepValue = fc.integer({ min: 1, max: 20000 }).map((n) => `${DEEP}${n}`)
const bodyText = (value: unknown) =>
  (JSON.stringify(value) ?? '').replace(/"\\u0001deep:(\d+)"/g, (_, n: string) => '['.repeat(Number(n)) + ']'.repeat(Number(n)))

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  deepValue,
  hostileNumber,
  fc.constantFrom(null, true, false, [], {}, [null], { '\u0000': 1 }, { __proto: 1 }),
  fc.jsonValue({ maxDepth: 3 }),
)

function resolve(schema: Schema, components: Record<string, Schema>): Schema {
  return schema.$ref ? resolve(components[schema.$ref.split('/').pop()!] ?? {}, components) : schema
}

interface Vocabulary {
  components: Record<string, Schema>
  /** Strings worth trying for a field of this name (ids that exist, say). */
  known(name: string): string[]
}

/** Mostly a valid value with one hostile spot (so the rest gets past validation and into the domain); sometimes all valid, sometimes all hostile. */
function valueFor(schema: Schema, v: Vocabulary, name = ''): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 1, arbitrary: validFor(schema, v, name) }, { weight: 3, arbitrary: hostileFor(schema, v, name) }, { weight: 1, arbitrary: hostileValue })
}

/** A value the schema accepts, as far as generating it simply allows: enums, patterns, bounds, existing ids. */
function validFor(schema: Schema, v: Vocabulary, name: string, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema, v.components)
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]))
  if (s.const !== undefined) return fc.constant(s.const)
  const union = (s.anyOf ?? s.oneOf) as Schema[] | undefined
  if (union) return fc.oneof(...union.map((u) => validFor(u, v, name, depth)))
  switch (s.type) {
    case 'string': {
      if (typeof s.pattern === 'string') return fc.stringMatching(new RegExp(s.pattern))
      if (s.format === 'email') return fc.emailAddress()
      const minLength = typeof s.minLength === 'number' ? s.minLength : 0
      const maxLength = Math.max(minLength, Math.min(typeof s.maxLength === 'number' ? s.maxLength : 24, 24))
      return fc.oneof(fc.constantFrom(...v.known(name)), fc.string({ minLength, maxLength }))
    }
    case 'integer':
    case 'number': {
      const min = typeof s.minimum === 'number' ? s.minimum : 0
      return fc.integer({ min, max: Math.min(typeof s.maximum === 'number' ? s.maximum : min + 50, min + 50) })
    }
    case 'boolean':
      return fc.boolean()
    case 'array':
      return depth > 3 ? fc.constant([]) : fc.array(validFor((s.items as Schema) ?? {}, v, name, depth + 1), { maxLength: 3 })
    case 'object': {
      const props = depth > 3 ? {} : Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, p]) => [k, validFor(p, v, k, depth + 1)]))
      const required = ((s.required as string[] | undefined) ?? []).filter((k) => k in props)
      return fc.record(props, { requiredKeys: required })
    }
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

/** A value valid everywhere but in one spot, which holds something hostile (an object may get a hostile extra key instead). */
function hostileFor(schema: Schema, v: Vocabulary, name: string, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema, v.components)
  switch (s.type) {
    case 'string':
      return hostileString
    case 'integer':
    case 'number':
      return fc.oneof(fc.constantFrom(...hostileNumbers), hostileString)
    case 'boolean':
      return fc.constantFrom('true', 0, 1, null)
    case 'array':
      if (depth > 3) return hostileValue
      return fc.tuple(fc.array(validFor((s.items as Schema) ?? {}, v, name, depth + 1), { maxLength: 2 }), hostileFor((s.items as Schema) ?? {}, v, name, depth + 1)).map(([valid, bad]) => [...valid, bad])
    case 'object': {
      if (depth > 3) return hostileValue
      const valid = validFor(s, v, name, depth) as fc.Arbitrary<Record<string, unknown>>
      const extra = fc.tuple(valid, fc.oneof(fc.string({ maxLength: 8 }), hostileString), fc.oneof(deepValue, hostileValue)).map(([r, k, bad]) => ({ ...r, [k]: bad }))
      const spoilt = Object.entries(s.properties ?? {}).map(([k, p]) => fc.tuple(valid, hostileFor(p, v, k, depth + 1)).map(([r, bad]) => ({ ...r, [k]: bad })))
      return fc.oneof(extra, ...spoilt)
    }
    default:
      return hostileValue
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

function requestFor(op: Operation, v: Vocabulary): fc.Arbitrary<FuzzRequest> {
  const text = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value) ?? '')
  const segment = (param: Operation['pathParams'][number]) =>
    fc.oneof(
      { weight: 3, arbitrary: valueFor(param.schema, v, param.name).map((value) => encode(text(value))) },
      { weight: 1, arbitrary: fc.constantFrom('%00', '%zz', '%', '%E0%A4%A', 'a'.repeat(500), '..', '%2e%2e', '-1', '1e400', '9223372036854775808') },
    )
  const pathArb = fc.tuple(...op.pathParams.map(segment)).map((values) => {
    let i = 0
    return op.path.replace(/\{[^}]+\}/g, () => values[i++] ?? '')
  })
  const queryArb = fc
    .tuple(
      fc.tuple(...op.queryParams.map((p) => fc.option(valueFor(p.schema, v, p.name).map((value) => [p.name, text(value)] as [string, string]), { freq: 2 }))),
      fc.oneof({ weight: 7, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(hostileString, hostileString) }),
    )
    .map(([declared, stray]) => [...declared, ...(stray === null ? [] : [stray])].filter((pair) => pair !== null))
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, value]) => `${encode(k)}=${encode(value)}`).join('&')}`))
  const bodyArb: fc.Arbitrary<string | undefined> = ['GET', 'HEAD'].includes(op.method)
    ? fc.constant(undefined)
    : fc.oneof(
        { weight: 4, arbitrary: (op.body ? valueFor(op.body, v) : hostileValue).map(bodyText) },
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

/**
 * Never a 5xx; every 4xx a JSON envelope: `code` a number, `error` a string, `message` a
 * string when present, nothing else. The one allowance: the real cloud's own errors (codes
 * below 1000, such as `{"code":2,"error":"Incorrect password"}`) carry no `message`, as the
 * error table says. No route answers a 4xx outside the envelope, so nothing else is exempt.
 */
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
 * A user whose token keeps working, owning the printer DEV_ID. A case may log the user out,
 * disable or delete it, or delete the printer: after such a case (`mayHaveSpoilt`) both are
 * checked, and a fresh pair made when needed.
 */
function userSessions(s: TestApp) {
  let token: string | undefined
  let suspect = true
  let n = 0
  return {
    mayHaveSpoilt() {
      suspect = true
    },
    async token() {
      if (token !== undefined && !suspect) return token
      suspect = false
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

/** Cases after which the fuzzer's user or printer may be gone. */
const spoils = (request: FuzzRequest, status: number) =>
  status === 401 || (request.method !== 'GET' && (request.url.startsWith('/admin/') || request.url.includes('logout') || request.url.includes('bind')))

test('every OpenAPI operation survives hostile input: no 5xx, 4xx in the envelope, still serving', { timeout: 600_000 }, async (t) => {
  t.diagnostic(`FUZZ_SEED=${SEED}`)
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ADDRESS: '1000000' })
  await s.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (s.app.server.address() as AddressInfo).port
  const sessions = userSessions(s)
  await sessions.token()
  const doc = (await s.request({ method: 'GET', url: '/openapi.json' })).json()
  const components = (doc.components?.schemas ?? {}) as Record<string, Schema>
  const vocabulary: Vocabulary = {
    components,
    known: (name) =>
      /^dev(ice)?_?ids?$/i.test(name) ? [DEV_ID] : /account|email/i.test(name) ? ['fuzz0@example.com'] : [DEV_ID, '1', '2', 'BL-P001', 'default', 'upload'],
  }
  const ops = operationsOf(doc)
  assert.ok(ops.length > 40, `only ${ops.length} operations in /openapi.json`)

  const credentialHeader = async (c: FuzzRequest['credential']): Promise<[string, string][]> =>
    c === 'user' ? [['authorization', `Bearer ${await sessions.token()}`]]
      : c === 'admin' ? [['authorization', `Bearer ${ADMIN_TOKEN}`]]
        : c === 'garbage' ? [['authorization', 'Bearer not-a-token']] : []

  const anyRequest = fc.oneof(...ops.map((op) => requestFor(op, vocabulary)))

  await assertProperty(
    fc.asyncProperty(anyRequest, async (request) => {
      const headers = Object.fromEntries([...request.headers, ...(await credentialHeader(request.credential))])
      const res = await s.app.inject({ method: request.method as 'GET', url: request.url, headers, ...(request.body === undefined ? {} : { payload: request.body }) })
      if (spoils(request, res.statusCode)) sessions.mayHaveSpoilt()
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
      if ('target' in request || spoils(request, res.status)) sessions.mayHaveSpoilt()
      checkOutcome({ status: res.status, contentType: res.headers['content-type'] ?? '', body: res.body })
    }),
    { seed: SEED + 1, numRuns: SOCKET_CASES },
  )

  const health = await rawExchange(port, rawRequestText('GET', '/healthz'))
  assert.equal(health.status, 200, health.body)
})
