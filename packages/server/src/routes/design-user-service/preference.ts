/** design-user-service: the preference record clients read the numeric uid from. */
import { Preference } from '@bambu-cloud/protocol'
import { ApiError } from '../../errors.ts'
import { principalOf, type App } from '../../http/types.ts'

export default async function preferenceRoutes(app: App) {
  app.get(
    '/v1/design-user-service/my/preference',
    { schema: { tags: ['design-user-service'], summary: 'Identity and preferences; u_<uid> is the MQTT user', response: { 200: Preference } } },
    async (request) => {
      const user = await app.services.accounts.byUid(principalOf(request).uid)
      if (!user) throw new ApiError('unauthorized')
      return { uid: user.uid, name: user.name, handle: user.handle, avatar: user.avatar, bio: user.bio, links: [], backgroundUrl: '' }
    },
  )
}
