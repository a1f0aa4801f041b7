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
import { setTokenCookies } from '../../http/cookies.ts'
import { noStore, pairReply, tokenReply } from '../../http/token-reply.ts'
import type { App } from '../../http/types.ts'
import type { LoginOutcome } from '../../services/login.ts'

const tags = ['user-service: login']
const open = { auth: 'none' } as const
const errors = { 400: ErrorBodySchema, 429: ErrorBodySchema }

export default async function loginRoutes(app: App) {
  app.post(
    '/v1/user-service/user/login',
    {
      config: open,
      onRequest: noStore,
      schema: {
        tags,
        summary: 'Log in with a password, or with an emailed code',
        body: LoginRequest,
        response: { 200: TokenReply, ...errors },
      },
    },
    async (request, reply) => {
      const { account, password, code } = request.body
      const { login } = app.services
      let outcome: LoginOutcome
      if (typeof password === 'string' && password !== '') outcome = await login.withPassword(account, password, request.ip)
      else if (typeof code === 'string' && code !== '') outcome = await login.withCode(account, code, request.ip)
      else throw new ApiError('badRequest', 'body must have password or code')
      // The same tokens also come as cookies, as the web host sets them.
      if (outcome.kind === 'tokens') setTokenCookies(reply, outcome.pair, app.config.publicUrl)
      return tokenReply(outcome)
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
      onRequest: noStore,
      schema: { tags, summary: 'Finish a TFA login; tokens in the body', body: TfaLoginRequest, response: { 200: TokenReply, ...errors } },
    },
    async (request) => pairReply(await app.services.login.withTfa(request.body.tfaKey, request.body.tfaCode, request.ip)),
  )

  app.post(
    '/v1/user-service/user/refreshtoken',
    {
      config: open,
      onRequest: noStore,
      schema: {
        tags,
        summary: 'Rotate a token pair',
        description: 'The old refresh token stops working: presented again within REFRESH_REUSE_GRACE seconds (a parallel refresh) it gets a pair of its own, later it revokes the whole login.',
        body: RefreshTokenRequest,
        response: { 200: TokenReply, 401: ErrorBodySchema, ...errors },
      },
    },
    async (request) => pairReply(await app.services.tokens.refresh(request.body.refreshToken)),
  )
}
