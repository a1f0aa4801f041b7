/**
 * A real bambu-cloud server for one test, listening on a loopback port, and SDK clients
 * pointed at it. Data is set up through the server's own test helpers (admin API).
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import { Value } from '@sinclair/typebox/value'
import type { TSchema } from '@sinclair/typebox'
import { BambuCloud, type BambuCloudOptions, type Tokens } from '@bambu-cloud/client'
import { PASSWORD, startTestApp, type TestApp } from '../../../server/test/helpers/app.ts'

export interface Cloud {
  s: TestApp
  baseUrl: string
}

export async function startCloud(t: TestContext, env: Record<string, string> = {}): Promise<Cloud> {
  const s = await startTestApp(t, env)
  await s.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = s.app.server.address() as AddressInfo
  return { s, baseUrl: `http://127.0.0.1:${port}` }
}

export interface Requested {
  method: string
  url: string
}

/** A client of `cloud` that records what it sends and the tokens it is handed. */
export function clientOf(cloud: Cloud, options: BambuCloudOptions = {}) {
  const requests: Requested[] = []
  const tokens: Tokens[] = []
  const client = new BambuCloud({
    baseUrl: cloud.baseUrl,
    maxRetries: 0,
    fetch: (input, init) => {
      requests.push({ method: init.method ?? 'GET', url: input.slice(cloud.baseUrl.length) })
      return fetch(input, init)
    },
    onTokens: (t) => {
      tokens.push(t)
    },
    ...options,
  })
  return { client, requests, tokens }
}

/** A password-policy user, logged in through the SDK. */
export async function loggedIn(cloud: Cloud, account = 'ada@example.com', options: BambuCloudOptions = {}) {
  const { uid } = await cloud.s.createUser(account)
  const c = clientOf(cloud, options)
  const result = await c.client.auth.login({ account, password: PASSWORD })
  assert.equal(result.kind, 'tokens')
  return { ...c, uid, account }
}

/** Asserts `value` matches a protocol schema (with the TypeBox errors as the message). */
export function assertSchema(schema: TSchema, value: unknown, what = 'value') {
  const errors = [...Value.Errors(schema, value)].map((e) => `${e.path}: ${e.message}`)
  assert.deepEqual(errors, [], `${what} does not match its schema`)
}

/** Compile-time check that a resolved value has exactly the expected static type. */
export function expectType<T>(value: T): T {
  return value
}
