/**
 * iot-service `user/notification`: a slicer says its upload is complete (PUT), then polls
 * it (GET) until `success`. A failed upload answers 422 code 1016 with the reason, never a
 * 2xx, since some clients go on at any 2xx.
 */
import {
  ErrorBodySchema,
  UploadNotificationQuery,
  UploadNotificationReply,
  UploadNotifyReply,
  UploadNotifyRequest,
} from '@bambu-cloud/protocol'
import { ApiError } from '../../errors.ts'
import { principalOf, type App } from '../../http/types.ts'

const tags = ['iot-service: projects']
const errors = { 400: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 422: ErrorBodySchema }

export default async function notificationRoutes(app: App) {
  const { uploads } = app.services

  app.put(
    '/v1/iot-service/api/user/notification',
    {
      schema: {
        tags,
        summary: 'The upload of a ticket is complete: process it',
        description: 'Each ticket is notified once (again: 409). Processing runs in the background; poll with GET.',
        body: UploadNotifyRequest,
        response: { 200: UploadNotifyReply, ...errors },
      },
    },
    async (request) => {
      const { ticket, origin_file_name } = request.body.upload
      await uploads.notify(principalOf(request).uid, ticket, origin_file_name)
      return { message: 'success' as const, code: null, error: null }
    },
  )

  app.get(
    '/v1/iot-service/api/user/notification',
    {
      schema: {
        tags,
        summary: 'Poll an upload: `message` is running or success; a failure is a 422 error with its reason',
        querystring: UploadNotificationQuery,
        response: { 200: UploadNotificationReply, ...errors },
      },
    },
    async (request) => {
      const { action, ticket } = request.query
      if (!action) throw new ApiError('fieldNotSet', "field 'action' is not set")
      if (!ticket) throw new ApiError('fieldNotSet', "field 'ticket' is not set")
      const status = await uploads.status(principalOf(request).uid, action, ticket)
      return { message: status, code: null, error: null }
    },
  )
}
