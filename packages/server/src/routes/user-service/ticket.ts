/** Slicer single sign-on: a logged-in client asks for a ticket; Studio trades it for tokens. */
import { Type } from '@sinclair/typebox'
import { ErrorBodySchema, TicketExchangeRequest, TicketReply, TokenReply } from '@bambu-cloud/protocol'
import { noStore, pairReply } from '../../http/token-reply.ts'
import { principalOf, type App } from '../../http/types.ts'

const tags = ['user-service: login']

export default async function ticketRoutes(app: App) {
  app.get(
    '/v1/user-service/user/ticket',
    {
      onRequest: noStore,
      schema: { tags, summary: 'Issue a single-use sign-on ticket (5 minutes)', response: { 200: TicketReply } },
    },
    async (request) => app.services.tickets.issue(principalOf(request).uid, 'api'),
  )

  app.post(
    '/v1/user-service/user/ticket/:ticket',
    {
      onRequest: noStore,
      config: { auth: 'none' },
      schema: {
        tags,
        summary: 'Exchange a ticket for tokens',
        params: Type.Object({ ticket: Type.String({ minLength: 1, maxLength: 256 }) }),
        body: TicketExchangeRequest,
        response: { 200: TokenReply, 400: ErrorBodySchema, 429: ErrorBodySchema },
      },
    },
    async (request) => pairReply(await app.services.login.withTicket(request.params.ticket, request.ip)),
  )
}
