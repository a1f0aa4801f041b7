/** Admin API: users and the outbox of login codes. */
import { Type } from '@sinclair/typebox'

import {
  AdminUser,
  AdminUserCreate,
  AdminUserList,
  AdminUserPatch,
  ErrorBodySchema,
  OutboxQuery,
  OutboxReply,
  UidParams,
} from '@bambu-cloud/protocol'
import type { UserRow } from '../../db/schema.ts'
import { ApiError } from '../../errors.ts'
import type { App } from '../../http/types.ts'

const tags = ['admin']
const admin = { auth: 'admin' } as const

export function adminUser(row: UserRow, withSecret = row.login_policy === 'tfa') {
  return {
    uid: row.uid,
    account: row.account,
    name: row.name,
    login_policy: row.login_policy,
    disabled: row.disabled === 1,
    created_at: new Date(row.created_at).toISOString(),
    ...(withSecret && row.tfa_secret ? { tfa_secret: row.tfa_secret } : {}),
  }
}

export default async function adminUserRoutes(app: App) {
  const { accounts, mailer } = app.services

  app.post(
    '/admin/v1/users',
    {
      config: admin,
      schema: { tags, summary: 'Create a user', body: AdminUserCreate, response: { 201: AdminUser, 400: ErrorBodySchema, 409: ErrorBodySchema } },
    },
    async (request, reply) => {
      const row = await accounts.create(request.body)
      return reply.code(201).send(adminUser(row))
    },
  )

  app.get('/admin/v1/users', { config: admin, schema: { tags, summary: 'List users', response: { 200: AdminUserList } } }, async () => ({
    users: (await accounts.list()).map((row) => adminUser(row, false)),
  }))

  app.get(
    '/admin/v1/users/:uid',
    { config: admin, schema: { tags, summary: 'Read a user', params: UidParams, response: { 200: AdminUser, 404: ErrorBodySchema } } },
    async (request) => {
      const row = await accounts.byUid(request.params.uid)
      if (!row) throw new ApiError('notFound', `no user ${request.params.uid}`)
      return adminUser(row, false)
    },
  )

  app.patch(
    '/admin/v1/users/:uid',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Change a user (a password change or disabling revokes every token)',
        params: UidParams,
        body: AdminUserPatch,
        response: { 200: AdminUser, 400: ErrorBodySchema, 404: ErrorBodySchema },
      },
    },
    async (request) => {
      const before = await accounts.byUid(request.params.uid)
      const row = await accounts.update(request.params.uid, request.body)
      // The secret is shown when TFA was just turned on, as on creation.
      return adminUser(row, row.login_policy === 'tfa' && before?.login_policy !== 'tfa')
    },
  )

  app.delete(
    '/admin/v1/users/:uid',
    { config: admin, schema: { tags, summary: 'Delete a user and everything it owns', params: UidParams, response: { 204: Type.Null(), 404: ErrorBodySchema } } },
    async (request, reply) => {
      await accounts.remove(request.params.uid)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/admin/v1/outbox',
    {
      config: admin,
      schema: { tags, summary: 'Login codes kept for delivery when no SMTP is configured, newest first', querystring: OutboxQuery, response: { 200: OutboxReply } },
    },
    async (request) => ({
      messages: (await mailer.outbox(request.query.account)).map((m) => ({
        account: m.account,
        kind: m.kind,
        code: m.code,
        created_at: new Date(m.created_at).toISOString(),
      })),
    }),
  )
}


