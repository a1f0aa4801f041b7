/** iot-service `user/upload`: signed URLs for the print-ready 3MF of a plate. */
import { ErrorBodySchema, UploadUrlsQuery, UploadUrlsReply } from '@bambu-cloud/protocol'
import { principalOf, type App } from '../../http/types.ts'

export default async function uploadRoutes(app: App) {
  const { printFiles } = app.services

  app.get(
    '/v1/iot-service/api/user/upload',
    {
      schema: {
        tags: ['iot-service: projects'],
        summary: 'Upload URLs for print-ready files: `models=<model_id>_<profile_id>_<plate>.3mf[,...]`, or any other keys',
        description:
          'One entry per model file, and one per other query key (`filename`, `size`, ...; for the caller’s newest project). Each URL takes one PUT (no token, any Content-Type) until UPLOAD_URL_TTL; then name it in `PATCH user/project/{id}`.',
        querystring: UploadUrlsQuery,
        response: { 200: UploadUrlsReply, 400: ErrorBodySchema, 403: ErrorBodySchema },
      },
    },
    async (request) => {
      const urls = await printFiles.uploadUrls(principalOf(request).uid, request.query)
      return { message: 'success' as const, code: null, error: null, urls, host: 'user' as const }
    },
  )
}
