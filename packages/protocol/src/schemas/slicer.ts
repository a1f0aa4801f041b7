/** iot-service slicer routes: downloadable resources (software, plugins) and presets. */
import { Type, type Static } from '@sinclair/typebox'
import { IotSuccess, Nullable } from './common.ts'
import { VERSION_PATTERN } from '../version.ts'

export const SlicerResource = Type.Object({
  type: Type.String(),
  version: Type.String(),
  description: Type.String(),
  url: Type.String(),
  force_update: Type.Boolean(),
})
export type SlicerResource = Static<typeof SlicerResource>

/** The `software` entry: the same fields, with `type` null as the cloud answers it. */
export const SlicerSoftware = Type.Object({
  type: Type.Null(),
  version: Type.String(),
  description: Type.String(),
  url: Type.String(),
  force_update: Type.Boolean(),
})

export const SlicerResourceReply = IotSuccess({
  software: Nullable(SlicerSoftware),
  guide: Type.Null(),
  resources: Type.Array(SlicerResource),
})


export const AdminSlicerResourceCreate = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 128 }),
    version: Type.String({ pattern: VERSION_PATTERN }),
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    description: Type.Optional(Type.String({ maxLength: 65536 })),
    force_update: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type AdminSlicerResourceCreate = Static<typeof AdminSlicerResourceCreate>
