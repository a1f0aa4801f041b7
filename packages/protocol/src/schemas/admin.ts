/** Admin API shapes (`/admin/v1`). Not part of the Bambu cloud; ours to define. */
import { Type, type Static } from '@sinclair/typebox'

export const LoginPolicy = Type.Union([
  Type.Literal('password'),
  Type.Literal('email_code'),
  Type.Literal('tfa'),
])
export type LoginPolicy = Static<typeof LoginPolicy>

export const AdminUserCreate = Type.Object(
  {
    account: Type.String({ maxLength: 254 }),
    password: Type.String({ maxLength: 1024 }),
    name: Type.Optional(Type.String({ maxLength: 128 })),
    login_policy: Type.Optional(LoginPolicy),
  },
  { additionalProperties: false },
)
export type AdminUserCreate = Static<typeof AdminUserCreate>

export const AdminUserPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 128 })),
    password: Type.Optional(Type.String({ maxLength: 1024 })),
    login_policy: Type.Optional(LoginPolicy),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type AdminUserPatch = Static<typeof AdminUserPatch>

export const AdminUser = Type.Object({
  uid: Type.Integer(),
  account: Type.String(),
  name: Type.String(),
  login_policy: LoginPolicy,
  disabled: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
  tfa_secret: Type.Optional(Type.String({ description: 'Base32 TOTP secret; only when the policy is tfa' })),
})
export type AdminUser = Static<typeof AdminUser>

export const AdminUserList = Type.Object({ users: Type.Array(AdminUser) })

export const UidParams = Type.Object({ uid: Type.Integer({ minimum: 1 }) })

export const OutboxQuery = Type.Object({ account: Type.Optional(Type.String()) })

export const OutboxMessage = Type.Object({
  account: Type.String(),
  kind: Type.Union([Type.Literal('email_code'), Type.Literal('sms_code')]),
  code: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
})
export const OutboxReply = Type.Object({ messages: Type.Array(OutboxMessage) })
