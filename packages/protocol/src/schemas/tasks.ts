/** user-service tasks (print history), messages and tickets. */
import { Type, type Static } from '@sinclair/typebox'
import { INT32_MAX, Nullable } from './common.ts'

export const AmsDetail = Type.Object({}, { additionalProperties: true })

/**
 * One task as `my/tasks` lists it. Fields a client sent that the API does not define
 * (Studio's `amsMapping`, ...) are kept and returned too.
 */
export const TaskHit = Type.Object(
  {
    id: Type.Integer(),
    designId: Type.Integer(),
    designTitle: Type.String(),
    instanceId: Type.Integer(),
    modelId: Type.String(),
    title: Type.String(),
    cover: Type.String({ description: 'Absolute URL; downloads without a token' }),
    status: Type.Integer({ description: '0 created, 2 finished, 3 failed or aborted, 4 running' }),
    failedType: Type.Integer(),
    feedbackStatus: Type.Integer(),
    startTime: Type.String({ description: 'ISO-8601 UTC' }),
    endTime: Type.String({ description: 'ISO-8601 UTC; equals startTime while the print runs' }),
    weight: Type.Number(),
    length: Type.Number(),
    costTime: Type.Number(),
    profileId: Type.Integer(),
    plateIndex: Type.Integer(),
    plateName: Type.String(),
    deviceId: Type.String(),
    deviceModel: Type.String(),
    deviceName: Type.String(),
    bedType: Type.String(),
    amsDetailMapping: Type.Array(AmsDetail),
    mode: Type.String(),
    isPublicProfile: Type.Boolean(),
    isPrintable: Type.Boolean(),
    material: Type.Object({ id: Type.String(), name: Type.String() }),
    failedReason: Type.Optional(Type.String({ description: 'Why a failed task failed, when known (e.g. the printer refused the job); not in the vendor’s cloud' })),
  },
  { additionalProperties: true },
)
export type TaskHit = Static<typeof TaskHit>

const listQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 0 })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
  after: Type.Optional(Type.Integer({ minimum: 0 })),
}

export const TasksQuery = Type.Object({
  deviceId: Type.Optional(Type.String()),
  status: Type.Optional(Type.Integer({ minimum: 0, maximum: INT32_MAX })),
  ...listQuery,
})
export type TasksQuery = Static<typeof TasksQuery>

export const TasksReply = Type.Object({ total: Type.Integer(), hits: Type.Array(TaskHit) })

/** `POST my/task`: a task object; `deviceId` must name one of the caller's printers. */
export const CreateTaskRequest = Type.Object(
  {
    deviceId: Type.String({ minLength: 1, maxLength: 64 }),
    title: Type.Optional(Type.String({ maxLength: 512 })),
    modelId: Type.Optional(Type.String({ maxLength: 128 })),
    profileId: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^\\d{0,16}$' })])),
    plateIndex: Type.Optional(Type.Integer({ minimum: 0, maximum: INT32_MAX })),
    designId: Type.Optional(Type.Integer({ minimum: 0 })),
    cover: Type.Optional(Type.String({ maxLength: 2048 })),
    weight: Type.Optional(Type.Number({ minimum: 0 })),
    length: Type.Optional(Type.Number({ minimum: 0 })),
    costTime: Type.Optional(Type.Number({ minimum: 0 })),
    mode: Type.Optional(Type.String({ maxLength: 32 })),
    bedType: Type.Optional(Type.String({ maxLength: 64 })),
    amsDetailMapping: Type.Optional(Type.Array(AmsDetail)),
  },
  { additionalProperties: true },
)
export type CreateTaskRequest = Static<typeof CreateTaskRequest>
export const CreateTaskReply = Type.Object({ id: Type.Integer() })

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 0 }) })

export const MessagesQuery = Type.Object({ type: Type.Optional(Type.Integer({ minimum: 0, maximum: INT32_MAX })), ...listQuery })
export type MessagesQuery = Static<typeof MessagesQuery>

export const MessageHit = Type.Object({
  id: Type.Integer(),
  type: Type.Integer(),
  design: Type.Null(),
  comment: Type.Null(),
  taskMessage: Nullable(
    Type.Object({
      id: Type.Integer(),
      title: Type.String(),
      cover: Type.String(),
      status: Type.Integer(),
      deviceId: Type.String(),
      failedReason: Type.Optional(Type.String({ description: 'Why the task failed, when known; not in the vendor’s cloud' })),
    }),
  ),
  from: Type.Object({
    uid: Type.Integer(),
    name: Type.String(),
    avatar: Type.String(),
    fanCount: Type.Integer(),
    followCount: Type.Integer(),
    likeCount: Type.Integer(),
    isFollowed: Type.Boolean(),
  }),
  createTime: Type.String(),
})
export const MessagesReply = Type.Object({ hits: Type.Array(MessageHit) })

/** `my/ticket/{id}`: whether a sign-on ticket issued to the caller is still usable. */
export const MyTicketReply = Type.Object({ source: Type.String(), isValid: Type.Boolean() })
