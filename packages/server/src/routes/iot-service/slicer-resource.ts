/** `GET /v1/iot-service/api/slicer/resource`: what slicers can download. Open: Studio asks before login. */
import { SlicerResourceReply } from '@bambu-cloud/protocol'
import type { App } from '../../http/types.ts'
import { isVersion } from '@bambu-cloud/protocol'

export default async function slicerResourceRoutes(app: App) {
  app.get(
    '/v1/iot-service/api/slicer/resource',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['iot-service: slicer'],
        summary: 'Slicer software and plugin downloads',
        description: 'Query pairs `type=version` (e.g. `slicer/plugins/cloud=01.01.00.00`) return only resources newer than that version.',
        response: { 200: SlicerResourceReply },
      },
    },
    async (request) => {
      const installed = new Map<string, string>()
      for (const [type, version] of Object.entries(request.query as Record<string, unknown>)) {
        if (typeof version === 'string' && isVersion(version)) installed.set(type, version)
      }
      const { software, resources } = await app.services.slicerResources.newest(installed)
      const entry = (r: { type: string; version: string; description: string; url: string; force_update: number }) => ({
        type: r.type,
        version: r.version,
        description: r.description,
        url: r.url,
        force_update: r.force_update === 1,
      })
      return {
        message: 'success' as const,
        code: null,
        error: null,
        software: software ? { ...entry(software), type: null } : null,
        guide: null,
        resources: resources.map(entry),
      }
    },
  )
}
