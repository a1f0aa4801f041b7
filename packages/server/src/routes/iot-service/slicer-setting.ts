/**
 * `/v1/iot-service/api/slicer/setting`: the preset catalog a slicer lists, one preset in
 * full, and the caller's own presets (Bambu Studio's cloud sync).
 */
import {
  ErrorBodySchema,
  SettingCreate,
  SettingDeletedReply,
  SettingIdParams,
  SettingListQuery,
  SettingListReply,
  SettingPatch,
  SettingReply,
  SettingSavedReply,
} from '@bambu-cloud/protocol'
import { ApiError } from '../../errors.ts'
import { principalOf, type App } from '../../http/types.ts'
import { isVersion } from '@bambu-cloud/protocol'
import { parseObject } from '../../lib/json.ts'
import { sqlTime } from '../../lib/time.ts'
import type { SettingRow, SettingSummaryRow } from '../../services/slicer-settings.ts'

const tags = ['iot-service: slicer']
const PATH = '/v1/iot-service/api/slicer/setting'
const envelope = { message: 'success' as const, code: null, error: null }

function summary(row: SettingSummaryRow) {
  return {
    setting_id: row.setting_id,
    version: row.version,
    name: row.name,
    nickname: row.nickname,
    filament_id: row.filament_id,
    update_time: sqlTime(row.updated_at),
  }
}

const saved = (row: SettingRow) => ({ ...envelope, setting_id: row.setting_id, update_time: sqlTime(row.updated_at) })

export default async function slicerSettingRoutes(app: App) {
  const { slicerSettings } = app.services

  app.get(
    PATH,
    {
      schema: {
        tags,
        summary: 'Public presets and the caller’s own, by type',
        description:
          'Public presets are listed when their version is not newer than `version`; the caller’s own always. `public=false` lists only the caller’s own.',
        querystring: SettingListQuery,
        response: { 200: SettingListReply, 400: ErrorBodySchema, 422: ErrorBodySchema },
      },
    },
    async (request) => {
      const { version, public: withPublic } = request.query
      if (version === undefined || version === '') throw new ApiError('fieldNotSet', "field 'version' is not set")
      if (!isVersion(version)) throw new ApiError('invalidInput')
      const catalog = await slicerSettings.catalog(principalOf(request).uid, version, !/^(false|0)$/i.test(withPublic ?? ''))
      const group = (g: (typeof catalog)['print']) => ({ public: g.public.map(summary), private: g.private.map(summary) })
      return { ...envelope, print: group(catalog.print), printer: group(catalog.printer), filament: group(catalog.filament) }
    },
  )

  app.get(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'One preset in full (public, or the caller’s own)',
        params: SettingIdParams,
        response: { 200: SettingReply, 400: ErrorBodySchema, 403: ErrorBodySchema },
      },
    },
    async (request) => {
      const row = await slicerSettings.get(principalOf(request).uid, request.params.id)
      return {
        ...envelope,
        public: row.owner_uid === null,
        version: row.version,
        type: row.type,
        name: row.name,
        update_time: sqlTime(row.updated_at),
        nickname: row.nickname,
        base_id: row.base_id,
        setting: parseObject(row.setting),
        filament_id: row.filament_id,
      }
    },
  )

  app.post(
    PATH,
    {
      schema: {
        tags,
        summary: 'Save a new preset of the caller’s (per-type quota: code 14 when full)',
        body: SettingCreate,
        response: { 200: SettingSavedReply, 400: ErrorBodySchema },
      },
    },
    async (request) => saved(await slicerSettings.create(principalOf(request).uid, request.body)),
  )

  app.patch(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'Change one of the caller’s presets',
        params: SettingIdParams,
        body: SettingPatch,
        response: { 200: SettingSavedReply, 400: ErrorBodySchema, 403: ErrorBodySchema },
      },
    },
    async (request) => saved(await slicerSettings.update(principalOf(request).uid, request.params.id, request.body)),
  )

  app.delete(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'Delete one of the caller’s presets (an id already gone is fine too)',
        params: SettingIdParams,
        response: { 200: SettingDeletedReply, 403: ErrorBodySchema },
      },
    },
    async (request) => {
      await slicerSettings.remove(principalOf(request).uid, request.params.id)
      return envelope
    },
  )
}
