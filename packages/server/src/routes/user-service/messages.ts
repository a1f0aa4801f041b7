/** user-service `my/messages`: print notices and the like, newest first. */
import { MessagesQuery, MessagesReply } from '@bambu-cloud/protocol'
import { principalOf, type App } from '../../http/types.ts'

export default async function messageRoutes(app: App) {
  app.get(
    '/v1/user-service/my/messages',
    {
      schema: {
        tags: ['user-service: messages'],
        summary: 'Messages, newest first (type 6: a print finished or failed)',
        querystring: MessagesQuery,
        response: { 200: MessagesReply },
      },
    },
    async (request) => app.services.messages.list(principalOf(request).uid, request.query.type, request.query),
  )
}
