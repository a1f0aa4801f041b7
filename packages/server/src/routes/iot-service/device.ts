/** iot-service device routes: rename, firmware versions, live print status, camera codes. */
import {
  DeviceVersionQuery,
  DeviceVersionReply,
  ErrorBodySchema,
  PrintQuery,
  PrintReply,
  RenameDeviceRequest,
  SuccessReply,
  TtcodeReply,
  TtcodeRequest,
} from '@bambu-cloud/protocol'
import { principalOf, type App } from '../../http/types.ts'

const tags = ['iot-service: devices']
const success = { message: 'success' as const, code: null, error: null }
const forbidden = { 403: ErrorBodySchema }

export default async function deviceRoutes(app: App) {
  const { devices, deviceState } = app.services

  app.patch(
    '/v1/iot-service/api/user/device/info',
    { schema: { tags, summary: 'Rename a printer', body: RenameDeviceRequest, response: { 200: SuccessReply, ...forbidden } } },
    async (request) => {
      await devices.rename(principalOf(request).uid, request.body.dev_id, request.body.dev_name)
      return success
    },
  )

  app.get(
    '/v1/iot-service/api/user/device/version',
    {
      schema: {
        tags,
        summary: 'Firmware: current version and the catalog (dev_id or device_id; neither = all printers)',
        querystring: DeviceVersionQuery,
        response: { 200: DeviceVersionReply, ...forbidden },
      },
    },
    async (request) => {
      const devId = request.query.dev_id || request.query.device_id || undefined
      return { ...success, devices: await devices.versions(principalOf(request).uid, devId) }
    },
  )

  app.get(
    '/v1/iot-service/api/user/print',
    { schema: { tags, summary: 'Each printer’s live print', querystring: PrintQuery, response: { 200: PrintReply } } },
    async (request) => ({
      ...success,
      devices: await deviceState.printView(await devices.listBound(principalOf(request).uid)),
    }),
  )

  app.post(
    '/v1/iot-service/api/user/ttcode',
    {
      schema: {
        tags,
        summary: 'Camera-service codes (placeholders: the peer-to-peer service is the vendor’s)',
        body: TtcodeRequest,
        response: { 200: TtcodeReply, ...forbidden },
      },
    },
    async (request) => ({ ...success, ...(await devices.ttcode(principalOf(request).uid, request.body.dev_id)) }),
  )
}
