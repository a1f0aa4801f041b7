/**
 * The database's tables as Kysely sees them. Times are epoch milliseconds; booleans are
 * 0/1 integers, so one query code serves SQLite and PostgreSQL alike.
 */
import type { Generated, Insertable, Selectable } from 'kysely'

export interface UsersTable {
  uid: Generated<number>
  /** Lower-cased e-mail address (or phone number) the user logs in with. */
  account: string
  name: string
  avatar: string
  handle: string
  bio: string
  password_hash: string
  login_policy: 'password' | 'email_code' | 'tfa'
  tfa_secret: string | null
  /** The last TOTP step accepted, so a code works once. */
  tfa_last_step: number
  disabled: number
  created_at: number
  updated_at: number
}

/** One login: every token pair that refreshing it yields belongs to it. */
export interface LoginsTable {
  id: string
  uid: number
  method: string
  created_at: number
  revoked_at: number | null
}

export interface TokensTable {
  /** SHA-256 of the token. */
  hash: string
  login_id: string
  kind: 'access' | 'refresh'
  expires_at: number
  /** Refresh tokens: when it was exchanged; presenting it again after REFRESH_REUSE_GRACE seconds revokes the login. */
  used_at: number | null
  created_at: number
}

export interface LoginCodesTable {
  id: Generated<number>
  uid: number
  code_hash: string
  created_at: number
  expires_at: number
  failures: number
  spent_at: number | null
}

export interface TfaChallengesTable {
  key_hash: string
  uid: number
  created_at: number
  expires_at: number
  failures: number
  spent_at: number | null
}

export interface TicketsTable {
  hash: string
  uid: number
  pincode: string
  source: string
  created_at: number
  expires_at: number
  spent_at: number | null
}

export interface RateEventsTable {
  id: Generated<number>
  bucket: string
  at: number
}

export interface OutboxTable {
  id: Generated<number>
  account: string
  kind: 'email_code' | 'sms_code'
  code: string
  created_at: number
}

export interface ServerSecretsTable {
  name: string
  value: string
}

export interface SlicerResourcesTable {
  id: Generated<number>
  /** `software` for the slicer itself, else e.g. `slicer/plugins/cloud`. */
  type: string
  version: string
  description: string
  url: string
  force_update: number
  created_at: number
}

export interface DevicesTable {
  dev_id: string
  owner_uid: number | null
  name: string
  dev_model_name: string
  dev_product_name: string
  dev_access_code: string
  dev_structure: string
  nozzle_diameter: number
  firmware_version: string | null
  online: number
  /** JSON: the merged `print` report and the `info` module versions. */
  state: string
  current_task_id: number | null
  /** Derived from `state` whenever it changes (device-state service): what clients poll. */
  print_status: string
  progress: number | null
  remaining_minutes: number | null
  live_project_id: string
  /** Where the LAN bridge reaches the printer; null: not bridged. */
  lan_ip: string | null
  lan_mqtt_port: Generated<number>
  lan_ftps_port: Generated<number>
  /** The printer's certificate (SHA-256, `AA:BB:...`), pinned on the first successful connection. */
  lan_cert_sha256: string | null
  bound_at: number | null
  created_at: number
  updated_at: number
}

export interface TasksTable {
  id: Generated<number>
  uid: number
  device_id: string
  /** 0 created, 4 running or paused, 2 finished, 3 failed or aborted. */
  status: number
  mode: string
  title: string
  cover: string | null
  model_id: string
  profile_id: number
  plate_index: number
  design_id: number
  weight: number
  length: number
  cost_time: number
  device_model: string
  device_name: string
  start_time: number | null
  end_time: number | null
  lan_key: string | null
  /** Why a failed task failed, when the server knows (the printer refused it, the file never reached it). */
  fail_reason: string | null
  /** JSON object of fields the API does not define, returned as sent. */
  extra: string
  created_at: number
  updated_at: number
}

export interface TaskCountsTable {
  uid: number
  device_id: string
  status: number
  n: number
}

export interface MessagesTable {
  id: Generated<number>
  uid: number
  type: number
  task_id: number | null
  created_at: number
}

export interface TtcodesTable {
  uid: number
  dev_id: string
  ttcode: string
  passwd: string
  authkey: string
  created_at: number
}

export interface FirmwareTable {
  id: Generated<number>
  dev_model_name: string
  version: string
  url: string
  description: string
  force_update: number
  created_at: number
}

/** A cloud project: the model of one uploaded 3MF. */
export interface ProjectsTable {
  project_id: Generated<number>
  uid: number
  /** Region-style prefix + hex, e.g. `US2bb73b106683e5`; unique. */
  model_id: string
  name: string
  status: string
  content: string | null
  /** Signed link to the project's 3MF and its MD5, once an upload was processed. */
  download_url: string | null
  download_md5: string | null
  created_at: number
  updated_at: number
}

/** One slice setup of a project; `context` is JSON (compatibility, configs, plates, materials, ...). */
export interface ProjectProfilesTable {
  profile_id: Generated<number>
  project_id: number
  model_id: string
  name: string
  status: string
  content: string | null
  context: string
  filename: string | null
  url: string | null
  md5: string | null
  created_at: number
  updated_at: number
}

/** What a client polls (`user/notification`) while the server processes its upload. */
export interface UploadTicketsTable {
  ticket: string
  uid: number
  project_id: number
  profile_id: number | null
  action: 'upload' | 'import_mesh'
  status: 'running' | 'success' | 'failed'
  upload_url: string | null
  /** Where the file is stored (named when the ticket opens); `uploaded_at` says it arrived. */
  blob_key: string | null
  size: number | null
  md5: string | null
  /** `origin_file_name` from the notification. */
  file_name: string | null
  uploaded_at: number | null
  notified_at: number | null
  /** Why it failed, as the notification poll reports it. */
  error: string | null
  created_at: number
  updated_at: number
}

/** A print-ready 3MF for one plate of a profile (uploaded via `user/upload`, attached by `PATCH`). */
export interface PrintFilesTable {
  id: Generated<number>
  project_id: number
  profile_id: number
  plate_index: number
  blob_key: string
  size: number
  md5: string
  gcode_entry: string | null
  attached_at: number | null
  created_at: number
}

export interface SlicerSettingsTable {
  setting_id: string
  /** Null for the public catalog. */
  owner_uid: number | null
  type: 'print' | 'printer' | 'filament'
  name: string
  nickname: string | null
  version: string
  base_id: string | null
  filament_id: string | null
  /** JSON object, returned as stored. */
  setting: string
  created_at: number
  updated_at: number
  deleted_at: number | null
}

/** A signed upload URL being written to (see migration 0009). */
export interface UploadClaimsTable {
  blob_key: string
  claim_id: string
  uid: number
  bytes: number
  created_at: number
}

export interface Database {
  users: UsersTable
  logins: LoginsTable
  tokens: TokensTable
  login_codes: LoginCodesTable
  tfa_challenges: TfaChallengesTable
  tickets: TicketsTable
  rate_events: RateEventsTable
  outbox: OutboxTable
  server_secrets: ServerSecretsTable
  slicer_resources: SlicerResourcesTable
  devices: DevicesTable
  tasks: TasksTable
  task_counts: TaskCountsTable
  messages: MessagesTable
  ttcodes: TtcodesTable
  firmware: FirmwareTable
  projects: ProjectsTable
  project_profiles: ProjectProfilesTable
  upload_tickets: UploadTicketsTable
  print_files: PrintFilesTable
  upload_claims: UploadClaimsTable
  slicer_settings: SlicerSettingsTable
}

export type UserRow = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
