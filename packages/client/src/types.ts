/**
 * The SDK's names for the wire shapes. Every type is the static type of a
 * @bambu-cloud/protocol schema (tasks add the extra fields the API keeps), so it cannot
 * drift from what the server validates; field names are the wire's own.
 */
import type {
  CreateTaskReply,
  CreateProjectReply,
  CreateTaskRequest as ProtocolCreateTaskRequest,
  DeviceVersionReply,
  MessagesReply,
  PrintReply,
  ProjectDetailReply,
  ProjectProfileReply,
  SettingListReply,
  SettingReply,
  SettingSavedReply,
  SlicerResourceReply,
  TaskHit as ProtocolTaskHit,
  TicketReply,
  TtcodeReply,
  UploadUrlsReply,
} from '@bambu-cloud/protocol'

/** TypeBox's `Static<S>`, read from the schema's own phantom type, so no TypeBox import is needed here. */
type Wire<S extends { static: unknown }> = S['static']

export type {
  BoundDevice,
  MessagesQuery,
  Preference,
  PrintStatus,
  Profile,
  ProjectListItem,
  ProjectProfile,
  SettingCreate,
  SettingPatch,
  SettingSummary,
  SettingType,
  SlicerResource,
  TasksQuery,
  TokenReply,
} from '@bambu-cloud/protocol'

/** A task as `my/tasks` lists it; fields a client sent that the API does not define come back too. */
export type TaskHit = ProtocolTaskHit & { [field: string]: unknown }
/** A page of `GET my/tasks`: `total` counts every match, `hits` newest first. */
export interface TasksPage {
  total: number
  hits: TaskHit[]
}
/** The body of `POST my/task`: `deviceId` names one of your printers; other fields (Studio's `amsMapping`, ...) are kept. */
export type CreateTaskRequest = ProtocolCreateTaskRequest & { [field: string]: unknown }
export type CreatedTask = Wire<typeof CreateTaskReply>
/** A page of `GET my/messages`. */
export type MessagesPage = Wire<typeof MessagesReply>
export type MessageHit = MessagesPage['hits'][number]
/** One printer's firmware: current `version` and the model's catalog, newest first. */
export type DeviceFirmware = Wire<typeof DeviceVersionReply>['devices'][number]
/** One printer's live print (`user/print`); task fields are null while idle. */
export type DevicePrint = Wire<typeof PrintReply>['devices'][number]
export type Ttcode = Wire<typeof TtcodeReply>
export type Ticket = Wire<typeof TicketReply>
export type SlicerResources = Wire<typeof SlicerResourceReply>
export type SettingList = Wire<typeof SettingListReply>
export type Setting = Wire<typeof SettingReply>
export type SettingSaved = Wire<typeof SettingSavedReply>
export type ProjectDetail = Wire<typeof ProjectDetailReply>
export type ProjectProfileDetail = Wire<typeof ProjectProfileReply>
/** `POST user/project`: the new project's ids, where to PUT its 3MF and the ticket naming the upload. */
export type CreatedProject = Wire<typeof CreateProjectReply>
/** One signed PUT URL from `GET user/upload`. */
export type UploadUrl = Wire<typeof UploadUrlsReply>['urls'][number]
