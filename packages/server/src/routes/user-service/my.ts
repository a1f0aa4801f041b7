/** user-service `my/...` account routes: the profile and logging out. */
import { EmptyReply, LogoutRequest, Profile } from '@bambu-cloud/protocol'
import { ApiError } from '../../errors.ts'
import { principalOf, type App } from '../../http/types.ts'

const tags = ['user-service: account']

export default async function myRoutes(app: App) {
  app.get('/v1/user-service/my/profile', { schema: { tags, summary: 'The caller’s profile', response: { 200: Profile } } }, async (request) => {
    const user = await app.services.accounts.byUid(principalOf(request).uid)
    if (!user) throw new ApiError('unauthorized')
    return {
      uid: user.uid,
      uidStr: String(user.uid),
      account: user.account,
      name: user.name,
      avatar: user.avatar,
      setting: {},
    }
  })

  app.post(
    '/v1/user-service/my/logout',
    { schema: { tags, summary: 'Revoke this login’s tokens', body: LogoutRequest, response: { 200: EmptyReply } } },
    async (request) => {
      await app.services.tokens.revokeLogin(principalOf(request).loginId)
      return {}
    },
  )
}
