/**
 * The web host's sign-in API (`/api/sign-in/...`): the seed document's login. Tokens come
 * back only as the `token` and `refreshToken` cookies. Both routes pass the CSRF check first.
 */
import { CsrfErrorReply, ErrorBodySchema, SignInFormReply, SignInFormRequest, TfaLoginRequest, EmptyReply } from '@bambu-cloud/protocol'
import { setTokenCookies } from '../../http/cookies.ts'
import { csrfGuard } from '../../http/csrf.ts'
import { noStore } from '../../http/token-reply.ts'
import type { App } from '../../http/types.ts'

const tags = ['web host: sign-in']
const errors = { 400: ErrorBodySchema, 403: CsrfErrorReply, 429: ErrorBodySchema }

export default async function signInApiRoutes(app: App) {
  const onRequest = [noStore, csrfGuard(app.config.webCsrf)]
  app.post(
    '/api/sign-in/form',
    {
      config: { auth: 'none' },
      onRequest,
      schema: { tags, summary: 'Log in; tokens as cookies', body: SignInFormRequest, response: { 200: SignInFormReply, ...errors } },
    },
    async (request, reply) => {
      const outcome = await app.services.login.withPassword(request.body.account, request.body.password, request.ip)
      switch (outcome.kind) {
        case 'tokens':
          setTokenCookies(reply, outcome.pair, app.config.publicUrl)
          return { tfaKey: '' }
        case 'tfa':
          return { tfaKey: outcome.tfaKey }
        case 'verifyCode':
          // No cookies yet: the client continues with the emailed code, as with the JSON API.
          return { tfaKey: '', loginType: 'verifyCode' }
      }
    },
  )

  app.post(
    '/api/sign-in/tfa',
    {
      config: { auth: 'none' },
      onRequest,
      schema: { tags, summary: 'Finish a TFA login; tokens only as cookies', body: TfaLoginRequest, response: { 200: EmptyReply, ...errors } },
    },
    async (request, reply) => {
      const pair = await app.services.login.withTfa(request.body.tfaKey, request.body.tfaCode, request.ip)
      setTokenCookies(reply, pair, app.config.publicUrl)
      return {}
    },
  )
}
