/** Admin API shapes (`/admin/v1`). Not part of the Bambu cloud; ours to define. */
import { Type, type Static } from '@sinclair/typebox'
import { VERSION_PATTERN } from '../version.ts'
import { Nullable } from './common.ts'

export const LoginPolicy = Type.Union([
  Type.Literal('password'),
  Type.Literal('email_code'),
  Type.Literal('tfa'),
])
export type LoginPolicy = Static<typeof LoginPolicy>

export const AdminUserCreate = Type.Object(
  {
    account: Type.String({ maxLength: 254 }),
    password: Type.String({ maxLength: 1024 }),
    name: Type.Optional(Type.String({ maxLength: 128 })),
    login_policy: Type.Optional(LoginPolicy),
  },
  { additionalProperties: false },
)
export type AdminUserCreate = Static<typeof AdminUserCreate>

export const AdminUserPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 128 })),
    password: Type.Optional(Type.String({ maxLength: 1024 })),
    login_policy: Type.Optional(LoginPolicy),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type AdminUserPatch = Static<typeof AdminUserPatch>

export const AdminUser = Type.Object({
  uid: Type.Integer(),
  account: Type.String(),
  name: Type.String(),
  login_policy: LoginPolicy,
  disabled: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
  tfa_secret: Type.Optional(Type.String({ description: 'Base32 TOTP secret; only when the policy is tfa' })),
})
export type AdminUser = Static<typeof AdminUser>

export const AdminUserList = Type.Object({ users: Type.Array(AdminUser) })

export const UidParams = Type.Object({ uid: Type.Integer({ minimum: 1 }) })

export const OutboxQuery = Type.Object({ account: Type.Optional(Type.String()) })

export const OutboxMessage = Type.Object({
  account: Type.String(),
  kind: Type.Union([Type.Literal('email_code'), Type.Literal('sms_code')]),
  code: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
})
export const OutboxReply = Type.Object({ messages: Type.Array(OutboxMessage) })

const deviceFields = {
  name: Type.String({ minLength: 1, maxLength: 128 }),
  dev_model_name: Type.String({ minLength: 1, maxLength: 64 }),
  dev_product_name: Type.String({ minLength: 1, maxLength: 64 }),
  nozzle_diameter: Type.Number({ exclusiveMinimum: 0, maximum: 10 }),
  dev_access_code: Type.String({ minLength: 1, maxLength: 64 }),
  dev_structure: Type.String({ maxLength: 64 }),
  firmware_version: Type.String({ maxLength: 64 }),
}

export const AdminDeviceCreate = Type.Object(
  {
    dev_id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    name: deviceFields.name,
    dev_model_name: deviceFields.dev_model_name,
    dev_product_name: deviceFields.dev_product_name,
    owner: Type.String({ minLength: 1, maxLength: 254, description: 'The owner’s account' }),
    nozzle_diameter: Type.Optional(deviceFields.nozzle_diameter),
    dev_access_code: Type.Optional(deviceFields.dev_access_code),
    dev_structure: Type.Optional(deviceFields.dev_structure),
    firmware_version: Type.Optional(deviceFields.firmware_version),
  },
  { additionalProperties: false },
)
export type AdminDeviceCreate = Static<typeof AdminDeviceCreate>

export const AdminDevicePatch = Type.Object(
  {
    name: Type.Optional(deviceFields.name),
    dev_model_name: Type.Optional(deviceFields.dev_model_name),
    dev_product_name: Type.Optional(deviceFields.dev_product_name),
    nozzle_diameter: Type.Optional(deviceFields.nozzle_diameter),
    dev_access_code: Type.Optional(deviceFields.dev_access_code),
    dev_structure: Type.Optional(deviceFields.dev_structure),
    firmware_version: Type.Optional(Type.Union([deviceFields.firmware_version, Type.Null()])),
    owner: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 254 }), Type.Null()], { description: 'An account binds; null unbinds' })),
    lan_ip: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 253, description: 'IPv4/IPv6 address or host name' }), Type.Null()], {
        description: 'Bridge the printer over its LAN broker at this address (forgets its pinned certificate); null stops bridging',
      }),
    ),
    lan_mqtt_port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'The printer’s MQTT port (8883)' })),
    lan_ftps_port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'The printer’s implicit-TLS FTP port (990)' })),
  },
  { additionalProperties: false },
)
export type AdminDevicePatch = Static<typeof AdminDevicePatch>

export const BridgeState = Type.Union([Type.Literal('off'), Type.Literal('connecting'), Type.Literal('connected'), Type.Literal('backoff')])

/** The LAN bridge's link to one printer, as this server process sees it. */
export const AdminBridge = Type.Object({
  state: BridgeState,
  since: Nullable(Type.String({ format: 'date-time', description: 'When it entered this state' })),
  last_error: Nullable(Type.String()),
  reconnects: Type.Integer({ description: 'Connection attempts after the first' }),
  last_report_at: Nullable(Type.String({ format: 'date-time' })),
})

export const AdminDevice = Type.Object({
  dev_id: Type.String(),
  name: Type.String(),
  dev_model_name: Type.String(),
  dev_product_name: Type.String(),
  dev_access_code: Type.String(),
  dev_structure: Type.String(),
  nozzle_diameter: Type.Number(),
  firmware_version: Type.Union([Type.String(), Type.Null()]),
  owner: Type.Union([Type.String(), Type.Null()]),
  owner_uid: Type.Union([Type.Integer(), Type.Null()]),
  online: Type.Boolean(),
  print_status: Type.String(),
  print_job: Type.Union([Type.Integer(), Type.Null()]),
  lan_ip: Nullable(Type.String()),
  lan_mqtt_port: Type.Integer(),
  lan_ftps_port: Type.Integer(),
  lan_cert_sha256: Nullable(Type.String({ description: 'The printer’s certificate, pinned on first connection' })),
  bridge: Type.Union([AdminBridge, Type.Null()], { description: 'Null while the printer has no lan_ip' }),
  state: Type.Object({}, { additionalProperties: true, description: 'The merged printer report' }),
})
export const AdminDeviceList = Type.Object({ devices: Type.Array(AdminDevice) })
export const DevIdParams = Type.Object({ dev_id: Type.String({ minLength: 1, maxLength: 64 }) })

/** A report exactly as a printer publishes it, e.g. `{"print":{"command":"push_status",...}}`. */
export const DeviceReport = Type.Object({}, { additionalProperties: true })
export const DeviceOnline = Type.Object({ online: Type.Boolean() }, { additionalProperties: false })

export const AdminFirmwareCreate = Type.Object(
  {
    dev_model_name: Type.String({ minLength: 1, maxLength: 64 }),
    version: Type.String({ pattern: VERSION_PATTERN }),
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    description: Type.Optional(Type.String({ maxLength: 65536 })),
    force_update: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export const AdminFirmware = Type.Object({
  id: Type.Integer(),
  dev_model_name: Type.String(),
  version: Type.String(),
  url: Type.String(),
  description: Type.String(),
  force_update: Type.Boolean(),
})
