/** iot-service `user/bind`: the caller's printers; DELETE unbinds one. */
import { BindListQuery, BindReply, ErrorBodySchema, SuccessReply, UnbindRequest } from '@bambu-cloud/protocol'
import { principalOf, type App } from '../../http/types.ts'
import type { DeviceSummary } from '../../services/devices.ts'

const tags = ['iot-service: devices']
const success = { message: 'success' as const, code: null, error: null }

export default async function bindRoutes(app: App) {
  const { devices, deviceState } = app.services

  const bound = (d: DeviceSummary) => ({
    dev_id: d.dev_id,
    name: d.name,
    online: d.online === 1,
    print_status: deviceState.printStatus(d),
    dev_model_name: d.dev_model_name,
    dev_product_name: d.dev_product_name,
    dev_access_code: d.dev_access_code,
    nozzle_diameter: d.nozzle_diameter,
    print_job: d.current_task_id,
    dev_structure: d.dev_structure,
  })

  app.get('/v1/iot-service/api/user/bind', { schema: { tags, summary: 'The caller’s printers', response: { 200: BindReply } } }, async (request) => ({
    ...success,
    devices: (await devices.listBound(principalOf(request).uid)).map(bound),
  }))

  app.get(
    '/v1/iot-service/api/user/bind_list',
    { schema: { tags, summary: 'Some of the caller’s printers', querystring: BindListQuery, response: { 200: BindReply } } },
    async (request) => {
      const ids = (request.query.dev_ids ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
      return { ...success, devices: (await devices.listBound(principalOf(request).uid, ids)).map(bound) }
    },
  )

  app.delete(
    '/v1/iot-service/api/user/bind',
    {
      schema: {
        tags,
        summary: 'Unbind a printer (dev_id in the body or the query)',
        body: UnbindRequest,
        response: { 200: SuccessReply, 403: ErrorBodySchema },
      },
    },
    async (request) => {
      await devices.unbind(principalOf(request).uid, request.body.dev_id)
      return success
    },
  )
}
