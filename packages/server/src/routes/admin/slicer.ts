/** Admin API: the slicer download catalog. */
import { Type } from '@sinclair/typebox'
import { AdminSlicerResourceCreate, ErrorBodySchema } from '@bambu-cloud/protocol'
import type { App } from '../../http/types.ts'

export default async function adminSlicerRoutes(app: App) {
  app.post(
    '/admin/v1/slicer/resources',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Publish a slicer download (type "software" sets the software entry)',
        body: AdminSlicerResourceCreate,
        response: {
          201: Type.Object({ id: Type.Integer(), type: Type.String(), version: Type.String() }),
          400: ErrorBodySchema,
          409: ErrorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const row = await app.services.slicerResources.add(request.body)
      return reply.code(201).send({ id: row.id, type: row.type, version: row.version })
    },
  )
}
