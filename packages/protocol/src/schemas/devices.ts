/** iot-service device routes: bound printers, their print status, firmware, camera codes. */
import { Type, type Static } from '@sinclair/typebox'
import { IotSuccess, Nullable } from './common.ts'

/** What a device shows as `print_status` (and `task_status`), derived from `gcode_state`. */
export const PrintStatus = Type.Union([
  Type.Literal('IDLE'),
  Type.Literal('RUNNING'),
  Type.Literal('PAUSE'),
  Type.Literal('SUCCESS'),
  Type.Literal('FAILED'),
])
export type PrintStatus = Static<typeof PrintStatus>

export const BoundDevice = Type.Object({
  dev_id: Type.String(),
  name: Type.String(),
  online: Type.Boolean(),
  print_status: PrintStatus,
  dev_model_name: Type.String(),
  dev_product_name: Type.String(),
  dev_access_code: Type.String(),
  nozzle_diameter: Type.Number(),
  print_job: Nullable(Type.Integer({ description: 'The current or latest task id' })),
  dev_structure: Type.String(),
})
export type BoundDevice = Static<typeof BoundDevice>

export const BindReply = IotSuccess({ devices: Type.Array(BoundDevice) })

export const BindListQuery = Type.Object({ dev_ids: Type.Optional(Type.String()) })

/** DELETE user/bind: `dev_id` in the body or the query. */
export const UnbindRequest = Type.Object(
  { dev_id: Type.String({ minLength: 1, maxLength: 64 }), force: Type.Optional(Type.Union([Type.Boolean(), Type.String()])) },
  { additionalProperties: true },
)

export const RenameDeviceRequest = Type.Object(
  { dev_id: Type.String({ minLength: 1, maxLength: 64 }), dev_name: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: true },
)

export const SuccessReply = IotSuccess({})

export const FirmwareEntry = Type.Object({
  version: Type.String(),
  force_update: Type.Boolean(),
  url: Type.String(),
  description: Type.String(),
})

export const DeviceVersionQuery = Type.Object({
  dev_id: Type.Optional(Type.String()),
  device_id: Type.Optional(Type.String()),
})

export const DeviceVersionReply = IotSuccess({
  devices: Type.Array(
    Type.Object({
      dev_id: Type.String(),
      version: Nullable(Type.String()),
      firmware: Type.Array(FirmwareEntry),
      ams: Type.Array(Type.Object({}, { additionalProperties: true })),
    }),
  ),
})

/** One device's live print, as `user/print` shows it; task fields null while idle. */
export const DevicePrint = Type.Object({
  dev_id: Type.String(),
  dev_name: Type.String(),
  dev_model_name: Type.String(),
  dev_product_name: Type.String(),
  dev_online: Type.Boolean(),
  dev_access_code: Type.String(),
  task_id: Nullable(Type.String()),
  task_name: Nullable(Type.String()),
  task_status: Nullable(PrintStatus),
  model_id: Nullable(Type.String()),
  project_id: Nullable(Type.String()),
  profile_id: Nullable(Type.String()),
  start_time: Nullable(Type.String()),
  prediction: Nullable(Type.Integer()),
  progress: Nullable(Type.Integer()),
  thumbnail: Nullable(Type.String()),
})
export const PrintReply = IotSuccess({ devices: Type.Array(DevicePrint) })
export const PrintQuery = Type.Object({ force: Type.Optional(Type.String()) })

export const TtcodeRequest = Type.Object({ dev_id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: true })
export const TtcodeReply = IotSuccess({
  ttcode: Type.String(),
  passwd: Type.String(),
  authkey: Type.String(),
  region: Type.String(),
})

/** `GET user/task/{id}` (iot-service): the task in the project-file vocabulary. */
export const IotTaskReply = IotSuccess({
  parent: Type.Null(),
  model_id: Nullable(Type.String()),
  project_id: Nullable(Type.String()),
  profile_id: Nullable(Type.String()),
  status: Nullable(Type.Integer()),
  name: Nullable(Type.String()),
  content: Type.Null(),
  context: Type.Null(),
  create_time: Nullable(Type.String()),
  update_time: Nullable(Type.String()),
  sub_task: Type.Null(),
  subtask: Type.Null(),
  est: Type.Null(),
  url: Type.Null(),
  md5: Type.Null(),
})
