/**
 * iot-service project routes: the caller's cloud projects, their profiles, and upload
 * notifications. Ids are decimal strings here; times are `YYYY-MM-DD HH:MM:SS` UTC.
 */
import { Type, type Static } from '@sinclair/typebox'
import { IotSuccess, Nullable } from './common.ts'

const WireTime = Type.String({ description: 'UTC, `YYYY-MM-DD HH:MM:SS`' })
const WireId = Type.String({ pattern: '^\\d+$' })
/** Ids in paths: integers that fit a JavaScript number. */
const PathId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })

const projectFields = {
  project_id: WireId,
  user_id: WireId,
  model_id: Type.String(),
  status: Type.String({ description: 'ACTIVE' }),
  name: Type.String(),
}

/** An entry of `GET user/project`. */
export const ProjectListItem = Type.Object({
  ...projectFields,
  content: Nullable(Type.String({ description: 'JSON null when the project has none (never the text `"null"`)' })),
  create_time: WireTime,
  update_time: WireTime,
})
export type ProjectListItem = Static<typeof ProjectListItem>

export const ProjectListReply = IotSuccess({ projects: Type.Array(ProjectListItem) })

/** A FreeObject, documented: whatever the 3MF yields passes through unchanged. */
const ProfileContext = Type.Object(
  {},
  {
    additionalProperties: true,
    description:
      'From the 3MF, carried unchanged: compatibility, pictures, configs[], plates[] (index, thumbnail, prediction, weight, gcode, filaments[]), materials[], auxiliary_*',
  },
)

const profileFields = {
  profile_id: WireId,
  model_id: Type.String(),
  status: Type.String(),
  name: Type.String(),
}

/** A profile as a project lists it. */
export const ProjectProfile = Type.Object({
  ...profileFields,
  content: Type.String({ description: '`"{}"` when the profile has none' }),
  create_time: WireTime,
  update_time: WireTime,
  context: ProfileContext,
})
export type ProjectProfile = Static<typeof ProjectProfile>

/** `GET user/project/{id}`. */
export const ProjectDetailReply = IotSuccess({
  ...projectFields,
  content: Nullable(Type.String()),
  create_time: WireTime,
  update_time: WireTime,
  profiles: Type.Array(ProjectProfile),
  download_url: Nullable(Type.String()),
  download_md5: Nullable(Type.String()),
  keystore_xml: Nullable(Type.String()),
  upload_url: Nullable(Type.String({ description: 'Where a running upload goes, while one runs' })),
  upload_ticket: Nullable(Type.String({ description: 'The ticket of a running upload, while one runs' })),
})

/** `GET user/profile/{id}`: the profile with the 3MF behind it. */
export const ProjectProfileReply = IotSuccess({
  ...profileFields,
  content: Nullable(Type.String()),
  create_time: WireTime,
  update_time: WireTime,
  context: ProfileContext,
  filename: Nullable(Type.String()),
  url: Nullable(Type.String()),
  md5: Nullable(Type.String()),
  keystore_xml: Nullable(Type.String()),
})

export const ProjectIdParams = Type.Object({ project_id: PathId })
export const ProjectProfileIdParams = Type.Object({ profile_id: PathId })
export const ProjectProfileQuery = Type.Object({
  model_id: Type.Optional(Type.String({ maxLength: 64, description: 'When given, must be the profile’s' })),
})

export const UploadAction = Type.Union([Type.Literal('upload'), Type.Literal('import_mesh')])
export type UploadAction = Static<typeof UploadAction>
export const UploadStatus = Type.Union([Type.Literal('running'), Type.Literal('success'), Type.Literal('failed')])
export type UploadStatus = Static<typeof UploadStatus>

/** Both are required; they are optional here so a missing one gets the cloud's wording. */
export const UploadNotificationQuery = Type.Object({
  action: Type.Optional(UploadAction),
  ticket: Type.Optional(Type.String({ maxLength: 128 })),
})

/**
 * The envelope's `message` carries the upload's status here. A failed upload answers the
 * error envelope instead (422, code 1016, `message` says why): clients that take any 2xx
 * as done must not go on.
 */
export const UploadNotificationReply = Type.Object({
  message: Type.Union([Type.Literal('running'), Type.Literal('success')]),
  code: Type.Null(),
  error: Type.Null(),
})
