/** The web host's `GET /api/csrf`: a fresh CSRF token as the `bbl_csrf_token` cookie, for the double-submit check. */
import { CsrfReply } from '@bambu-cloud/protocol'
import { issueCsrfToken } from '../../http/csrf.ts'
import type { App } from '../../http/types.ts'

export default async function csrfRoutes(app: App) {
  app.get(
    '/api/csrf',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['web host: sign-in'],
        summary: 'Set the CSRF cookie; repeat its value in the x-bbl-csrf-token header',
        response: { 200: CsrfReply },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store')
      return { token: issueCsrfToken(reply, app.config.publicUrl) }
    },
  )
}
