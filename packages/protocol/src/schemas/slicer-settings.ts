/**
 * iot-service slicer presets ("settings"): the catalog a slicer lists, one preset in full,
 * a user's own presets, and the admin shapes that publish the public catalog.
 */
import { Type, type Static } from '@sinclair/typebox'
import { FreeObject, IotSuccess, Nullable } from './common.ts'
import { VERSION_PATTERN } from '../version.ts'

/** Studio's three preset kinds: process (`print`), machine (`printer`) and `filament`. */
export const SettingType = Type.Union([Type.Literal('print'), Type.Literal('printer'), Type.Literal('filament')])
export type SettingType = Static<typeof SettingType>

const UpdateTime = Type.String({ description: '`YYYY-MM-DD HH:MM:SS`, UTC' })

/** `version` and `public` are checked by the route: the cloud words their errors its own way. */
export const SettingListQuery = Type.Object({
  version: Type.Optional(Type.String({ description: 'The slicer’s version, four dot-separated numbers (required)' })),
  public: Type.Optional(Type.String({ description: '`false`: only the caller’s own presets' })),
})

export const SettingSummary = Type.Object({
  setting_id: Type.String(),
  version: Type.String(),
  name: Type.String(),
  nickname: Nullable(Type.String()),
  filament_id: Nullable(Type.String()),
  update_time: UpdateTime,
})
export type SettingSummary = Static<typeof SettingSummary>

const SettingGroup = Type.Object({ public: Type.Array(SettingSummary), private: Type.Array(SettingSummary) })

export const SettingListReply = IotSuccess({ print: SettingGroup, printer: SettingGroup, filament: SettingGroup })

export const SettingIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) })

export const SettingReply = IotSuccess({
  public: Type.Boolean(),
  version: Type.String(),
  type: SettingType,
  name: Type.String(),
  update_time: UpdateTime,
  nickname: Nullable(Type.String()),
  base_id: Nullable(Type.String()),
  setting: FreeObject,
  filament_id: Nullable(Type.String()),
})

const OptionalId = Type.Optional(Nullable(Type.String({ maxLength: 128 })))

/** What Studio sends to save a user preset; fields beyond these are accepted and ignored. */
export const SettingCreate = Type.Object(
  {
    type: SettingType,
    name: Type.String({ minLength: 1, maxLength: 255 }),
    version: Type.String({ pattern: VERSION_PATTERN }),
    base_id: OptionalId,
    filament_id: OptionalId,
    nickname: OptionalId,
    setting: FreeObject,
  },
  { additionalProperties: true },
)
export type SettingCreate = Static<typeof SettingCreate>

/** Any of the create fields; `type` is fixed once created and ignored here. */
export const SettingPatch = Type.Object(
  {
    type: Type.Optional(SettingType),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    version: Type.Optional(Type.String({ pattern: VERSION_PATTERN })),
    base_id: OptionalId,
    filament_id: OptionalId,
    nickname: OptionalId,
    setting: Type.Optional(FreeObject),
  },
  { additionalProperties: true },
)
export type SettingPatch = Static<typeof SettingPatch>

export const SettingSavedReply = IotSuccess({ setting_id: Type.String(), update_time: UpdateTime })

export const SettingDeletedReply = IotSuccess({})

/** Ids go into URLs, so the admin may choose only plain ones. */
const SETTING_ID_PATTERN = '^[A-Za-z0-9_.-]{1,64}$'

export const AdminSettingCreate = Type.Object(
  {
    type: SettingType,
    name: Type.String({ minLength: 1, maxLength: 255 }),
    version: Type.String({ pattern: VERSION_PATTERN }),
    setting_id: Type.Optional(Type.String({ pattern: SETTING_ID_PATTERN })),
    filament_id: OptionalId,
    nickname: OptionalId,
    base_id: OptionalId,
    setting: FreeObject,
  },
  { additionalProperties: false },
)
export type AdminSettingCreate = Static<typeof AdminSettingCreate>

export const AdminSettingCreated = Type.Object({ setting_id: Type.String() })

/** A Bambu Studio profile tree as `relative/path.json` -> that file's parsed JSON. */
export const AdminProfileImport = Type.Object(
  { files: Type.Record(Type.String({ minLength: 1, maxLength: 1024 }), Type.Unknown()) },
  { additionalProperties: false },
)

export const ProfileImportReport = Type.Object({
  created: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  /** Presets or files left out, and why. */
  problems: Type.Array(Type.Object({ file: Type.String(), message: Type.String() })),
})
export type ProfileImportReport = Static<typeof ProfileImportReport>
