/**
 * The slicer's upload flow (iot-service `user/project`, `user/notification`, `user/upload`)
 * and the profile `context` the server reads out of an uploaded 3MF.
 *
 * In order: create a project (its `upload_url` and `upload_ticket`), PUT the 3MF to
 * `upload_url`, PUT the notification, poll it, PATCH the project with the print-ready
 * file per plate (uploaded to a URL from `user/upload`), then create the task.
 */
import { Type, type Static } from '@sinclair/typebox'
import { IotSuccess, Nullable } from './common.ts'

const WireId = Type.String({ pattern: '^\\d+$' })

/** `POST user/project`. */
export const CreateProjectRequest = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 512, description: 'Usually the 3MF’s file name' }) },
  { additionalProperties: true },
)
export type CreateProjectRequest = Static<typeof CreateProjectRequest>

export const CreateProjectReply = IotSuccess({
  project_id: WireId,
  model_id: Type.String(),
  profile_id: WireId,
  upload_url: Type.String({ description: 'Signed PUT URL for the 3MF; no Bearer, any Content-Type; expires after UPLOAD_URL_TTL' }),
  upload_ticket: Type.String({ description: 'Names the upload in `user/notification`; used once' }),
})
export type CreateProjectReply = Static<typeof CreateProjectReply>

/** One plate's print-ready 3MF, as `PATCH user/project/{id}` names it. */
export const ProfilePrint3mf = Type.Object(
  {
    plate_idx: Type.Integer({ minimum: 1, maximum: 1000 }),
    url: Type.String({ maxLength: 4096, description: 'The signed URL the file was PUT to (from `user/upload`); empty: none' }),
    md5: Type.Optional(Type.String({ maxLength: 64, description: 'When given, must be the uploaded file’s (hex, any case)' })),
  },
  { additionalProperties: true },
)
export type ProfilePrint3mf = Static<typeof ProfilePrint3mf>

/** `PATCH user/project/{id}`: Studio and Bambu Connect send `profile_id` as a string. */
export const UpdateProjectRequest = Type.Object(
  {
    profile_id: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^\\d{1,16}$' })])),
    profile_print_3mf: Type.Optional(Type.Array(ProfilePrint3mf, { maxItems: 1000 })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  },
  { additionalProperties: true },
)
export type UpdateProjectRequest = Static<typeof UpdateProjectRequest>

export const UpdateProjectReply = IotSuccess({})

/** `PUT user/notification`: the upload is complete, process it. */
export const UploadNotifyRequest = Type.Object(
  {
    upload: Type.Object(
      {
        ticket: Type.String({ minLength: 1, maxLength: 128 }),
        origin_file_name: Type.Optional(Type.String({ maxLength: 512 })),
      },
      { additionalProperties: true },
    ),
    action: Type.Optional(Type.Literal('upload', { description: 'Bambu Connect sends it; optional' })),
  },
  { additionalProperties: true },
)
export type UploadNotifyRequest = Static<typeof UploadNotifyRequest>

export const UploadNotifyReply = IotSuccess({})

/**
 * `GET user/upload?models=<model_id>_<profile_id>_<plate>.3mf[,...]`, as Studio asks; other
 * clients ask with other keys (`?filename=<name>&size=<bytes>`), each its own entry.
 */
export const UploadUrlsQuery = Type.Object(
  {
    models: Type.Optional(Type.String({ maxLength: 4096, description: 'Comma-separated `<model_id>_<profile_id>_<plate>.3mf`' })),
  },
  { additionalProperties: Type.String({ maxLength: 4096 }) },
)
export type UploadUrlsQuery = Static<typeof UploadUrlsQuery>

export const UploadUrl = Type.Object({
  type: Type.String({ description: 'The query key asked with: `models`, `filename`, `size`, ...' }),
  file: Type.String({ description: 'The requested name (the key’s value)' }),
  url: Type.String({ description: 'Signed PUT URL; expires after UPLOAD_URL_TTL' }),
})
export type UploadUrl = Static<typeof UploadUrl>

export const UploadUrlsReply = IotSuccess({ urls: Type.Array(UploadUrl), host: Type.Literal('user') })
export type UploadUrlsReply = Static<typeof UploadUrlsReply>

/** A file inside the 3MF, served on its own. All three are null when the 3MF has none. */
export const ContextFile = Type.Object({
  name: Nullable(Type.String()),
  dir: Nullable(Type.String()),
  url: Nullable(Type.String({ description: 'Signed GET URL; needs no token, does not expire' })),
})
export type ContextFile = Static<typeof ContextFile>

/** A filament of a plate: every field is the text `slice_info.config` holds. */
export const PlateFilament = Type.Object({
  id: Type.String(),
  type: Type.String(),
  color: Type.String({ description: 'As in the file, e.g. `#00AE42`' }),
  used_m: Type.String(),
  used_g: Type.String(),
})
export type PlateFilament = Static<typeof PlateFilament>

export const ContextPlate = Type.Object({
  index: Type.Integer({ minimum: 1 }),
  thumbnail: ContextFile,
  prediction: Type.Integer({ description: 'Seconds' }),
  weight: Type.Number({ description: 'Grams' }),
  gcode: ContextFile,
  filaments: Type.Array(PlateFilament),
})
export type ContextPlate = Static<typeof ContextPlate>

/**
 * A profile's `context` as the server builds it from an uploaded 3MF: the seed's shape.
 * (`ProjectProfile.context` stays a free object: contexts from elsewhere pass through.)
 */
export const ThreeMfContext = Type.Object({
  compatibility: Type.Object({
    dev_model_name: Type.String({ description: 'e.g. `BL-P001`, `C12`; empty when the file does not say' }),
    dev_product_name: Type.String({ description: 'e.g. `X1 Carbon`, `P1S`' }),
    nozzle_diameter: Type.Number(),
  }),
  pictures: Type.Null(),
  configs: Type.Array(ContextFile),
  plates: Type.Array(ContextPlate),
  materials: Type.Array(Type.Object({ color: Type.String({ description: 'Without `#`' }), material: Type.String() })),
  auxiliary_pictures: Type.Array(Type.Unknown()),
  auxiliary_bom: Type.Array(Type.Unknown()),
  auxiliary_guide: Type.Array(Type.Unknown()),
  auxiliary_other: Type.Array(Type.Unknown()),
})
export type ThreeMfContext = Static<typeof ThreeMfContext>
