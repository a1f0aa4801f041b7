/** Login, token and ticket shapes of user-service and the web host's sign-in API. */
import { Type, type Static } from '@sinclair/typebox'

/**
 * `POST /v1/user-service/user/login`: either `password` or `code` with `account`.
 * Real clients add fields of their own (`apiError`), so others are allowed.
 */
export const LoginRequest = Type.Object(
  {
    account: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.Optional(Type.String({ maxLength: 1024 })),
    code: Type.Optional(Type.String({ maxLength: 64 })),
    apiError: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
)
export type LoginRequest = Static<typeof LoginRequest>

/** The token answer. Bambu Studio's parser fails unless the first seven fields are present. */
export const TokenReply = Type.Object(
  {
    accessToken: Type.String(),
    refreshToken: Type.String(),
    expiresIn: Type.Integer(),
    refreshExpiresIn: Type.Integer(),
    tfaKey: Type.String(),
    accessMethod: Type.String(),
    loginType: Type.String(),
    success: Type.Literal(true, { description: 'Always true; a client checks it' }),
  },
  { $id: 'TokenReply', description: 'Tokens, or the next login step (loginType verifyCode or tfa)' },
)
export type TokenReply = Static<typeof TokenReply>

export const SendEmailCodeRequest = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 254 }), type: Type.Optional(Type.String()) },
  { additionalProperties: true },
)
export const SendSmsCodeRequest = Type.Object(
  { phone: Type.String({ minLength: 1, maxLength: 254 }), type: Type.Optional(Type.String()) },
  { additionalProperties: true },
)

export const TfaLoginRequest = Type.Object(
  { tfaKey: Type.String({ minLength: 1, maxLength: 256 }), tfaCode: Type.String({ maxLength: 16 }) },
  { additionalProperties: true },
)
export type TfaLoginRequest = Static<typeof TfaLoginRequest>

export const RefreshTokenRequest = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 4096 }) },
  { additionalProperties: true },
)

export const LogoutRequest = Type.Object(
  { refreshtoken: Type.Optional(Type.String()) },
  { additionalProperties: true },
)

/** `GET /v1/user-service/user/ticket`. */
export const TicketReply = Type.Object({ ticket: Type.String(), pincode: Type.String() })

/** `POST /v1/user-service/user/ticket/{T}`: the ticket may repeat in the body. */
export const TicketExchangeRequest = Type.Object(
  { ticket: Type.Optional(Type.String()) },
  { additionalProperties: true },
)

/** `POST /api/sign-in/form` (the web host): tokens come back only as cookies. */
export const SignInFormRequest = Type.Object(
  {
    account: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ maxLength: 1024 }),
    apiError: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
)
export const SignInFormReply = Type.Object({
  tfaKey: Type.String(),
  loginType: Type.Optional(Type.String({ description: '"verifyCode" when the account logs in with an emailed code' })),
})

/** `GET /api/csrf`: the token it also sets as the `bbl_csrf_token` cookie. */
export const CsrfReply = Type.Object({ token: Type.String() })

/** The web host's 403 when the CSRF cookie and `x-bbl-csrf-token` header do not match. */
export const CsrfErrorReply = Type.Object({
  error: Type.String({ description: '"CSRF error: <reason>"' }),
  reason: Type.Union([Type.Literal('missing_cookie'), Type.Literal('missing_header'), Type.Literal('mismatch')]),
})

/** A bare success with nothing else to say. */
export const EmptyReply = Type.Object({})
