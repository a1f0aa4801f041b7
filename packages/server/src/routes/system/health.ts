/** Liveness for operators and orchestrators: 200 only when the database answers and is migrated. */
import { Type } from '@sinclair/typebox'
import { isMigrated } from '../../db/migrate.ts'
import type { App } from '../../http/types.ts'

export default async function healthRoutes(app: App) {
  app.get(
    '/healthz',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['system'],
        summary: 'Health check',
        response: { 200: Type.Object({ status: Type.Literal('ok') }), 503: Type.Object({ status: Type.String() }) },
      },
    },
    async (_request, reply) => {
      if (await isMigrated(app.database)) return { status: 'ok' as const }
      return reply.code(503).send({ status: 'unavailable' })
    },
  )
}
