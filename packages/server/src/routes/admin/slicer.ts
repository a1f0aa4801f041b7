/** Admin API: the slicer download catalog and the public preset catalog. */
import { Type } from '@sinclair/typebox'
import {
  AdminProfileImport,
  AdminSettingCreate,
  AdminSettingCreated,
  AdminSlicerResourceCreate,
  ErrorBodySchema,
  ProfileImportReport,
} from '@bambu-cloud/protocol'
import type { App } from '../../http/types.ts'

/** A whole Bambu Studio profile tree is some tens of MiB of JSON. */
const PROFILE_IMPORT_BODY_LIMIT = 64 * 1024 * 1024

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

  app.post(
    '/admin/v1/slicer/settings',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Publish a preset to every user (an id like GP…, GM… or GFS… is made up when absent)',
        body: AdminSettingCreate,
        response: { 201: AdminSettingCreated, 400: ErrorBodySchema, 409: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const row = await app.services.slicerSettings.publish(request.body)
      return reply.code(201).send({ setting_id: row.setting_id })
    },
  )

  app.post(
    '/admin/v1/slicer/profiles/import',
    {
      config: { auth: 'admin' },
      bodyLimit: PROFILE_IMPORT_BODY_LIMIT,
      schema: {
        tags: ['admin'],
        summary: 'Import a Bambu Studio profile tree into the public presets',
        description: '`files` maps each file’s path in the tree (e.g. `BBL.json`, `BBL/process/x.json`) to its JSON. Re-importing updates, never duplicates.',
        body: AdminProfileImport,
        response: { 200: ProfileImportReport, 400: ErrorBodySchema },
      },
    },
    async (request) => app.services.slicerSettings.importProfiles(request.body.files),
  )
}
