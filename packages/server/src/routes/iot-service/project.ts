/**
 * iot-service `user/project`, `user/profile` and `user/notification`: reading the caller's
 * cloud projects and polling an upload. Another user's (or an unknown) project or
 * profile answers 403 code 8.
 */
import {
  ErrorBodySchema,
  ProjectDetailReply,
  ProjectIdParams,
  ProjectListReply,
  ProjectProfileIdParams,
  ProjectProfileQuery,
  ProjectProfileReply,
  UploadNotificationQuery,
  UploadNotificationReply,
} from '@bambu-cloud/protocol'
import { ApiError } from '../../errors.ts'
import { principalOf, type App } from '../../http/types.ts'
import { sqlTime } from '../../lib/time.ts'
import type { ProfileRow } from '../../services/projects.ts'

const tags = ['iot-service: projects']
const success = { message: 'success' as const, code: null, error: null }

function profileFields(row: ProfileRow) {
  return {
    profile_id: String(row.profile_id),
    model_id: row.model_id,
    status: row.status,
    name: row.name,
    create_time: sqlTime(row.created_at),
    update_time: sqlTime(row.updated_at),
    context: JSON.parse(row.context) as Record<string, unknown>,
  }
}

export default async function projectRoutes(app: App) {
  const { projects } = app.services

  app.get(
    '/v1/iot-service/api/user/project',
    { schema: { tags, summary: 'The caller’s projects, newest first', response: { 200: ProjectListReply } } },
    async (request) => {
      const rows = await projects.listProjects(principalOf(request).uid)
      return {
        ...success,
        projects: rows.map((row) => ({
          project_id: String(row.project_id),
          user_id: String(row.uid),
          model_id: row.model_id,
          status: row.status,
          name: row.name,
          // The cloud's list writes an absent content as the text "null".
          content: row.content ?? 'null',
          create_time: sqlTime(row.created_at),
          update_time: sqlTime(row.updated_at),
        })),
      }
    },
  )

  app.get(
    '/v1/iot-service/api/user/project/:project_id',
    {
      schema: {
        tags,
        summary: 'One project with its profiles',
        params: ProjectIdParams,
        response: { 200: ProjectDetailReply, 400: ErrorBodySchema, 403: ErrorBodySchema },
      },
    },
    async (request) => {
      const { project, profiles, upload } = await projects.projectOf(principalOf(request).uid, request.params.project_id)
      return {
        ...success,
        project_id: String(project.project_id),
        user_id: String(project.uid),
        model_id: project.model_id,
        status: project.status,
        name: project.name,
        content: project.content,
        create_time: sqlTime(project.created_at),
        update_time: sqlTime(project.updated_at),
        // Here the cloud writes a profile's absent content as "{}".
        profiles: profiles.map((row) => ({ ...profileFields(row), content: row.content ?? '{}' })),
        // A project has no file of its own: each profile carries its 3MF.
        download_url: null,
        download_md5: null,
        keystore_xml: null,
        upload_url: upload?.upload_url ?? null,
        upload_ticket: upload?.ticket ?? null,
      }
    },
  )

  app.get(
    '/v1/iot-service/api/user/profile/:profile_id',
    {
      schema: {
        tags,
        summary: 'One profile with the 3MF behind it',
        params: ProjectProfileIdParams,
        querystring: ProjectProfileQuery,
        response: { 200: ProjectProfileReply, 400: ErrorBodySchema, 403: ErrorBodySchema },
      },
    },
    async (request) => {
      const row = await projects.profileOf(principalOf(request).uid, request.params.profile_id)
      const modelId = request.query.model_id
      if (modelId && modelId !== row.model_id) throw new ApiError('badRequest', 'model_id does not match the profile')
      return {
        ...success,
        ...profileFields(row),
        content: row.content,
        filename: row.filename,
        url: row.url,
        md5: row.md5,
        keystore_xml: null,
      }
    },
  )

  app.get(
    '/v1/iot-service/api/user/notification',
    {
      schema: {
        tags,
        summary: 'Poll an upload: `message` is running, success or failed',
        querystring: UploadNotificationQuery,
        response: { 200: UploadNotificationReply, 400: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema },
      },
    },
    async (request) => {
      const { action, ticket } = request.query
      if (!action) throw new ApiError('fieldNotSet', "field 'action' is not set")
      if (!ticket) throw new ApiError('fieldNotSet', "field 'ticket' is not set")
      const status = await projects.uploadStatus(principalOf(request).uid, action, ticket)
      return { message: status, code: null, error: null }
    },
  )
}
