/**
 * `cloud.slicer`: what slicers download (`slicer/resource`) and slicer presets
 * (`slicer/setting`), the catalog and your own, as Bambu Studio syncs them.
 */
import type { SettingCreate, SettingPatch } from '@bambu-cloud/protocol'
import type { BambuCloud } from '../client.ts'
import { path } from '../core/path.ts'
import { APIResource } from '../core/resource.ts'
import type { RequestOptions } from '../core/transport.ts'
import type { Setting, SettingList, SettingSaved, SlicerResources } from '../types.ts'

const SLICER = '/v1/iot-service/api/slicer'

export class Slicer extends APIResource {
  /** Presets, `/slicer/setting`. */
  readonly settings: Settings

  constructor(client: BambuCloud) {
    super(client)
    this.settings = new Settings(client)
  }

  /**
   * Slicer software and plugin downloads (`GET slicer/resource`; needs no login). Pass
   * `{ type: installedVersion }` pairs to get only what is newer.
   *
   * @example
   * const { software, resources } = await cloud.slicer.resources({ 'slicer/plugins/cloud': '01.01.00.00' })
   */
  resources(query: Record<string, string> = {}, options?: RequestOptions): Promise<SlicerResources> {
    return this.client.request({ method: 'GET', path: `${SLICER}/resource`, query, auth: false }, options)
  }
}

export class Settings extends APIResource {
  /**
   * Presets by type (`print`, `printer`, `filament`), each `{ public, private }`
   * (`GET slicer/setting`). `version` is the slicer's, four dot-separated numbers; public
   * presets newer than it are left out. `public: false` lists only your own.
   *
   * @example
   * const { filament } = await cloud.slicer.settings.list({ version: '01.10.00.89' })
   * console.log(filament.private.map((s) => s.name))
   */
  list(query: { version: string; public?: boolean }, options?: RequestOptions): Promise<SettingList> {
    return this.client.request({ method: 'GET', path: `${SLICER}/setting`, query: { version: query.version, public: query.public } }, options)
  }

  /**
   * One preset in full, public or your own (`GET slicer/setting/{id}`).
   *
   * @example
   * const { name, setting } = await cloud.slicer.settings.get('PFUS1a2b3c4d5e6f7a')
   */
  get(id: string, options?: RequestOptions): Promise<Setting> {
    return this.client.request({ method: 'GET', path: path`/v1/iot-service/api/slicer/setting/${id}` }, options)
  }

  /**
   * Saves a new preset of yours (`POST slicer/setting`); resolves to its `setting_id`.
   *
   * @example
   * const { setting_id } = await cloud.slicer.settings.create({
   *   type: 'filament', name: 'My PETG', version: '01.10.00.89', base_id: 'GFSG99', setting: { nozzle_temperature: ['245'] },
   * })
   */
  create(body: SettingCreate, options?: RequestOptions): Promise<SettingSaved> {
    return this.client.request({ method: 'POST', path: `${SLICER}/setting`, body }, options)
  }

  /**
   * Changes one of your presets (`PATCH slicer/setting/{id}`).
   *
   * @example
   * await cloud.slicer.settings.update(setting_id, { name: 'My PETG, slower' })
   */
  update(id: string, body: SettingPatch, options?: RequestOptions): Promise<SettingSaved> {
    return this.client.request({ method: 'PATCH', path: path`/v1/iot-service/api/slicer/setting/${id}`, body }, options)
  }

  /**
   * Deletes one of your presets (`DELETE slicer/setting/{id}`); an id already gone is fine.
   *
   * @example
   * await cloud.slicer.settings.delete(setting_id)
   */
  async delete(id: string, options?: RequestOptions): Promise<void> {
    await this.client.request({ method: 'DELETE', path: path`/v1/iot-service/api/slicer/setting/${id}` }, options)
  }
}
