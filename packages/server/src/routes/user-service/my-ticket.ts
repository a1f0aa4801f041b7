/** user-service `my/ticket/{id}` (GET or POST): is a sign-on ticket the caller was issued still usable? */
import { Type } from '@sinclair/typebox'
import { MyTicketReply } from '@bambu-cloud/protocol'
import { principalOf, type App } from '../../http/types.ts'

export default async function myTicketRoutes(app: App) {
  app.route({
    method: ['GET', 'POST'],
    url: '/v1/user-service/my/ticket/:id',
    schema: {
      tags: ['user-service: login'],
      summary: 'A sign-on ticket’s source and whether it is still valid',
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) }),
      response: { 200: MyTicketReply },
    },
    handler: async (request) => app.services.tickets.status(principalOf(request).uid, request.params.id),
  })
}
