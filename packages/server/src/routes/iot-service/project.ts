/**
 * iot-service `user/project` and `user/profile`: the caller's cloud projects and their
 * profiles, creating a project (the first step of an upload) and updating one (the
 * print-ready file per plate). Another user's (or an unknown) project or profile answers
 * 403 code 8.
 */
import {
  CreateProjectReply,
  CreateProjectRequest,
  ErrorBodySchema,
  ProjectDetailReply,
  ProjectIdParams,
  ProjectListReply,
  ProjectProfileIdParams,
  ProjectProfileQuery,
  ProjectProfileReply,
  UpdateProjectReply,
  UpdateProjectRequest,
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
  const { projects, uploads } = app.services

  app.post(
    '/v1/iot-service/api/user/project',
    {
      schema: {
        tags,
        summary: 'Create a project: the first step of an upload',
        description: 'Answers the project, its profile, and where to PUT the 3MF (`upload_url`, signed, no token) with the ticket to notify.',
        body: CreateProjectRequest,
        response: { 200: CreateProjectReply, 400: ErrorBodySchema },
      },
    },
    async (request) => {
      const created = await uploads.createProject(principalOf(request).uid, request.body.name)
      return {
        ...success,
        project_id: String(created.projectId),
        model_id: created.modelId,
        profile_id: String(created.profileId),
        upload_url: created.uploadUrl,
        upload_ticket: created.ticket,
      }
    },
  )

  app.patch(
    '/v1/iot-service/api/user/project/:project_id',
    {
      schema: {
        tags,
        summary: 'Rename a project, or attach the print-ready 3MF per plate of one of its profiles',
        description:
          '`profile_print_3mf[].url` is the signed URL the file was PUT to (from `user/upload`); its plate’s `gcode` link in the profile context then points into it.',
        params: ProjectIdParams,
        body: UpdateProjectRequest,
        response: { 200: UpdateProjectReply, 400: ErrorBodySchema, 403: ErrorBodySchema },
      },
    },
    async (request) => {
      await uploads.updateProject(principalOf(request).uid, request.params.project_id, request.body)
      return success
    },
  )

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
          content: row.content,
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
        // The newest processed upload; each profile also carries the 3MF it was read from.
        download_url: project.download_url,
        download_md5: project.download_md5,
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
}
