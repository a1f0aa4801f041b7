/** Admin API: printers (register, bind, change, remove), their reports and presence, firmware. */
import { Type } from '@sinclair/typebox'
import {
  AdminDevice,
  AdminDeviceCreate,
  AdminDeviceList,
  AdminDevicePatch,
  AdminFirmware,
  AdminFirmwareCreate,
  DeviceOnline,
  DeviceReport,
  DevIdParams,
  ErrorBodySchema,
} from '@bambu-cloud/protocol'
import { ApiError } from '../../errors.ts'
import type { App } from '../../http/types.ts'
import { parseObject } from '../../lib/json.ts'
import type { DeviceRow } from '../../services/devices.ts'

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const tags = ['admin']
const admin = { auth: 'admin' } as const
const errors = { 400: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema }

export default async function adminDeviceRoutes(app: App) {
  const { devices, deviceState, accounts } = app.services

  async function view(d: DeviceRow) {
    const owner = d.owner_uid === null ? undefined : await accounts.byUid(d.owner_uid)
    return {
      dev_id: d.dev_id,
      name: d.name,
      dev_model_name: d.dev_model_name,
      dev_product_name: d.dev_product_name,
      dev_access_code: d.dev_access_code,
      dev_structure: d.dev_structure,
      nozzle_diameter: d.nozzle_diameter,
      firmware_version: d.firmware_version,
      owner: owner?.account ?? null,
      owner_uid: d.owner_uid,
      online: d.online === 1,
      print_status: deviceState.printStatus(d),
      print_job: d.current_task_id,
      lan_ip: d.lan_ip,
      lan_mqtt_port: d.lan_mqtt_port,
      lan_ftps_port: d.lan_ftps_port,
      lan_cert_sha256: d.lan_cert_sha256,
      bridge: d.lan_ip === null ? null : bridgeView(d.dev_id),
      state: parseObject(d.state),
    }
  }

  /** The link as this process sees it: off when no bridge runs here or the printer is unbound. */
  function bridgeView(devId: string) {
    const link = app.bridge?.status(devId)
    if (!link) return { state: 'off' as const, since: null, last_error: null, reconnects: 0, last_report_at: null }
    return { state: link.state, since: iso(link.since), last_error: link.lastError, reconnects: link.reconnects, last_report_at: iso(link.lastReportAt) }
  }

  async function found(devId: string): Promise<DeviceRow> {
    const d = await devices.get(devId)
    if (!d) throw new ApiError('notFound', `no device ${devId}`)
    return d
  }

  app.post(
    '/admin/v1/devices',
    { config: admin, schema: { tags, summary: 'Register a printer for an owner (409 while bound to someone)', body: AdminDeviceCreate, response: { 201: AdminDevice, ...errors } } },
    async (request, reply) => reply.code(201).send(await view(await devices.register(request.body))),
  )

  app.get('/admin/v1/devices', { config: admin, schema: { tags, summary: 'List printers', response: { 200: AdminDeviceList } } }, async () => ({
    devices: await Promise.all((await devices.listAll()).map(view)),
  }))

  app.get(
    '/admin/v1/devices/:dev_id',
    { config: admin, schema: { tags, summary: 'Read a printer', params: DevIdParams, response: { 200: AdminDevice, ...errors } } },
    async (request) => view(await found(request.params.dev_id)),
  )

  app.patch(
    '/admin/v1/devices/:dev_id',
    { config: admin, schema: { tags, summary: 'Change a printer; owner null unbinds, lan_ip bridges it over its LAN', params: DevIdParams, body: AdminDevicePatch, response: { 200: AdminDevice, ...errors } } },
    async (request) => view(await devices.update(request.params.dev_id, request.body)),
  )

  app.delete(
    '/admin/v1/devices/:dev_id',
    { config: admin, schema: { tags, summary: 'Remove a printer (its owners keep their history)', params: DevIdParams, response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      await devices.remove(request.params.dev_id)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/admin/v1/devices/:dev_id/report',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Apply one report exactly as a printer publishes it',
        description: 'E.g. `{"print":{"command":"push_status","gcode_state":"RUNNING","mc_percent":40}}`. A read right after sees it.',
        params: DevIdParams,
        body: DeviceReport,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await deviceState.applyReport(request.params.dev_id, request.body)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/admin/v1/devices/:dev_id/online',
    { config: admin, schema: { tags, summary: 'Mark a printer online or offline', params: DevIdParams, body: DeviceOnline, response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      await deviceState.setOnline(request.params.dev_id, request.body.online)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/admin/v1/firmware',
    { config: admin, schema: { tags, summary: 'Publish firmware for a printer model', body: AdminFirmwareCreate, response: { 201: AdminFirmware, ...errors } } },
    async (request, reply) => {
      const row = await devices.addFirmware(request.body)
      return reply.code(201).send({ ...row, force_update: row.force_update === 1 })
    },
  )
}
