/** user-service login routes: password or code login, code sends, TFA, token refresh. */
import {
  EmptyReply,
  ErrorBodySchema,
  LoginRequest,
  RefreshTokenRequest,
  SendEmailCodeRequest,
  SendSmsCodeRequest,
  TfaLoginRequest,
  TokenReply,
} from '@bambu-cloud/protocol'
import { ApiError } from '../../errors.ts'
import { pairReply, tokenReply } from '../../http/token-reply.ts'
import type { App } from '../../http/types.ts'

const tags = ['user-service: login']
const open = { auth: 'none' } as const
const errors = { 400: ErrorBodySchema, 429: ErrorBodySchema }

export default async function loginRoutes(app: App) {
  app.post(
    '/v1/user-service/user/login',
    {
      config: open,
      schema: {
        tags,
        summary: 'Log in with a password, or with an emailed code',
        body: LoginRequest,
        response: { 200: TokenReply, ...errors },
      },
    },
    async (request) => {
      const { account, password, code } = request.body
      const { login } = app.services
      if (typeof password === 'string' && password !== '') {
        return tokenReply(await login.withPassword(account, password, request.ip))
      }
      if (typeof code === 'string' && code !== '') {
        return tokenReply(await login.withCode(account, code, request.ip))
      }
      throw new ApiError('badRequest', 'body must have password or code')
    },
  )

  app.post(
    '/v1/user-service/user/sendemail/code',
    {
      config: open,
      schema: { tags, summary: 'Email a login code', body: SendEmailCodeRequest, response: { 200: EmptyReply, ...errors } },
    },
    async (request) => {
      await app.services.login.sendCode(request.body.email, 'email_code')
      return {}
    },
  )

  app.post(
    '/v1/user-service/user/sendsmscode',
    {
      config: open,
      schema: { tags, summary: 'Text a login code', body: SendSmsCodeRequest, response: { 200: EmptyReply, ...errors } },
    },
    async (request) => {
      await app.services.login.sendCode(request.body.phone, 'sms_code')
      return {}
    },
  )

  app.post(
    '/v1/user-service/user/tfa/login',
    {
      config: open,
      schema: { tags, summary: 'Finish a TFA login; tokens in the body', body: TfaLoginRequest, response: { 200: TokenReply, ...errors } },
    },
    async (request) => pairReply(await app.services.login.withTfa(request.body.tfaKey, request.body.tfaCode, request.ip)),
  )

  app.post(
    '/v1/user-service/user/refreshtoken',
    {
      config: open,
      schema: {
        tags,
        summary: 'Rotate a token pair',
        description: 'The old refresh token stops working; presenting it again revokes the whole login.',
        body: RefreshTokenRequest,
        response: { 200: TokenReply, 401: ErrorBodySchema, ...errors },
      },
    },
    async (request) => pairReply(await app.services.tokens.refresh(request.body.refreshToken)),
  )
}
