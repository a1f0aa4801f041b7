/**
 * Devices: binding printers to users, renaming, unbinding, camera codes, firmware, and
 * where the LAN bridge reaches them. What a device is doing (its state, its tasks)
 * belongs to the device-state service. Access codes are sealed at rest.
 */
import { isIP } from 'node:net'
import type { Selectable } from 'kysely'
import type { ServiceContext } from '../context.ts'
import type { DevicesTable } from '../db/schema.ts'
import { ApiError } from '../errors.ts'
import { SEALED_PREFIX } from '../lib/secret-box.ts'
import { randomDigits, randomToken } from '../lib/secrets.ts'
import { Signal } from '../lib/signal.ts'
import { compareVersions } from '@bambu-cloud/protocol'
import type { AccountService } from './accounts.ts'

export type DeviceRow = Selectable<DevicesTable>
/** A device without its merged report and LAN address: what listings read. */
export type DeviceSummary = Omit<DeviceRow, 'state' | 'lan_ip' | 'lan_mqtt_port' | 'lan_ftps_port' | 'lan_cert_sha256'>

const SUMMARY_COLUMNS = [
  'dev_id',
  'owner_uid',
  'name',
  'dev_model_name',
  'dev_product_name',
  'dev_access_code',
  'dev_structure',
  'nozzle_diameter',
  'firmware_version',
  'online',
  'current_task_id',
  'print_status',
  'progress',
  'remaining_minutes',
  'live_project_id',
  'bound_at',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof DeviceRow)[]

/** A device with no state: what a fresh binding starts from. */
const CLEAR_STATE = {
  state: '{}',
  current_task_id: null,
  print_status: 'IDLE',
  progress: null,
  remaining_minutes: null,
  live_project_id: '',
} as const

export interface DeviceFields {
  name?: string | undefined
  dev_model_name?: string | undefined
  dev_product_name?: string | undefined
  nozzle_diameter?: number | undefined
  dev_access_code?: string | undefined
  dev_structure?: string | undefined
  firmware_version?: string | null | undefined
}

/** Where the LAN bridge reaches a printer; `lan_ip: null` turns bridging off. */
export interface LanFields {
  lan_ip?: string | null | undefined
  lan_mqtt_port?: number | undefined
  lan_ftps_port?: number | undefined
}

/** A host name: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/

function assertLanHost(host: string): void {
  if (isIP(host) === 0 && !HOST_NAME.test(host)) throw new ApiError('badRequest', `lan_ip must be an IPv4 or IPv6 address or a host name, got "${host.slice(0, 64)}"`)
}

export interface NewDevice extends DeviceFields {
  dev_id: string
  name: string
  dev_model_name: string
  dev_product_name: string
  /** The owner's account. */
  owner: string
}

export interface NewFirmware {
  dev_model_name: string
  version: string
  url: string
  description?: string | undefined
  force_update?: boolean | undefined
}

export class DeviceService {
  /** Fires with a `dev_id` after it is bound, unbound, rebound or removed (the broker stops delivering to a former owner). */
  readonly ownerChanged = new Signal<string>((err) => this.ctx.log.error({ err }, 'a listener of device owner changes failed'))
  /** Fires with a `dev_id` after where or how the LAN bridge reaches it changed (address, ports, access code). */
  readonly lanChanged = new Signal<string>((err) => this.ctx.log.error({ err }, 'a listener of device LAN changes failed'))

  constructor(
    private readonly ctx: ServiceContext,
    private readonly accounts: AccountService,
  ) {}

  /** The row as callers see it: its access code in plain. */
  private opened<T extends { dev_access_code: string }>(row: T): T {
    return { ...row, dev_access_code: this.ctx.secrets.open(row.dev_access_code) }
  }

  /** Start-up step: seals the access codes an earlier version stored in plain; returns how many. */
  async sealAccessCodes(): Promise<number> {
    const { db } = this.ctx.database
    const plain = await db.selectFrom('devices').select(['dev_id', 'dev_access_code']).where('dev_access_code', 'not like', `${SEALED_PREFIX}%`).execute()
    for (const { dev_id, dev_access_code } of plain) {
      await db.updateTable('devices').set({ dev_access_code: this.ctx.secrets.seal(dev_access_code) }).where('dev_id', '=', dev_id).where('dev_access_code', '=', dev_access_code).execute()
    }
    return plain.length
  }

  async get(devId: string): Promise<DeviceRow | undefined> {
    const row = await this.ctx.database.db.selectFrom('devices').selectAll().where('dev_id', '=', devId).executeTakeFirst()
    return row && this.opened(row)
  }

  /** A device bound to the caller, or 403 code 8 (whether it exists elsewhere is not told). */
  async owned(uid: number, devId: string): Promise<DeviceRow> {
    const row = await this.get(devId)
    if (!row || row.owner_uid !== uid) throw new ApiError('forbidden')
    return row
  }

  /** Who owns each of these devices now: a uid, or null when unbound; devices that do not exist are left out. */
  async ownersOf(devIds: readonly string[]): Promise<Map<string, number | null>> {
    if (devIds.length === 0) return new Map()
    const rows = await this.ctx.database.db.selectFrom('devices').select(['dev_id', 'owner_uid']).where('dev_id', 'in', devIds).execute()
    return new Map(rows.map((r) => [r.dev_id, r.owner_uid]))
  }

  /** The access code of each of these devices; devices that do not exist are left out. */
  async accessCodesOf(devIds: readonly string[]): Promise<Map<string, string>> {
    if (devIds.length === 0) return new Map()
    const rows = await this.ctx.database.db.selectFrom('devices').select(['dev_id', 'dev_access_code']).where('dev_id', 'in', devIds).execute()
    return new Map(rows.map((r) => [r.dev_id, this.ctx.secrets.open(r.dev_access_code)]))
  }

  /** The caller's devices, in the order they were bound; optionally only some ids. */
  async listBound(uid: number, devIds?: string[]): Promise<DeviceSummary[]> {
    let q = this.ctx.database.db.selectFrom('devices').select(SUMMARY_COLUMNS).where('owner_uid', '=', uid)
    if (devIds) {
      if (devIds.length === 0) return []
      q = q.where('dev_id', 'in', devIds)
    }
    const rows = await q.orderBy('bound_at').orderBy('dev_id').execute()
    return rows.map((row) => this.opened(row))
  }

  async rename(uid: number, devId: string, name: string): Promise<void> {
    await this.owned(uid, devId)
    await this.ctx.database.db.updateTable('devices').set({ name, updated_at: this.ctx.now() }).where('dev_id', '=', devId).execute()
  }

  /**
   * Unbinds: the owner keeps its task and message history; the device forgets its state,
   * and its camera codes (and later broker and bridge access) end.
   */
  async unbind(uid: number, devId: string): Promise<void> {
    await this.owned(uid, devId)
    await this.release(devId)
  }

  private async release(devId: string): Promise<void> {
    const { db } = this.ctx.database
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('devices')
        .set({ owner_uid: null, bound_at: null, ...CLEAR_STATE, online: 0, updated_at: this.ctx.now() })
        .where('dev_id', '=', devId)
        .execute()
      await trx.deleteFrom('ttcodes').where('dev_id', '=', devId).execute()
    })
    this.ownerChanged.emit(devId)
  }

  /**
   * The camera service's codes for the caller and a device. They feed a vendor's
   * peer-to-peer service that is not ours, so they are random placeholders, stable until
   * the device is unbound.
   */
  async ttcode(uid: number, devId: string) {
    await this.owned(uid, devId)
    const { db } = this.ctx.database
    await db
      .insertInto('ttcodes')
      .values({
        uid,
        dev_id: devId,
        ttcode: `TT${randomToken(12).replace(/[^A-Za-z0-9]/g, '').slice(0, 14).toUpperCase()}`,
        passwd: randomDigits(8),
        authkey: randomToken(24),
        created_at: this.ctx.now(),
      })
      .onConflict((oc) => oc.columns(['uid', 'dev_id']).doNothing())
      .execute()
    const row = await db.selectFrom('ttcodes').selectAll().where('uid', '=', uid).where('dev_id', '=', devId).executeTakeFirstOrThrow()
    return { ttcode: row.ttcode, passwd: row.passwd, authkey: row.authkey, region: 'us' }
  }

  /** Firmware of the caller's devices (one, or all): current version and the catalog, newest first. */
  async versions(uid: number, devId?: string) {
    const devices = devId ? [await this.owned(uid, devId)] : await this.listBound(uid)
    const models = [...new Set(devices.map((d) => d.dev_model_name))]
    const firmware = models.length
      ? await this.ctx.database.db.selectFrom('firmware').selectAll().where('dev_model_name', 'in', models).execute()
      : []
    return devices.map((d) => ({
      dev_id: d.dev_id,
      version: d.firmware_version,
      firmware: firmware
        .filter((f) => f.dev_model_name === d.dev_model_name)
        .sort((a, b) => compareVersions(b.version, a.version))
        .map((f) => ({ version: f.version, force_update: f.force_update === 1, url: f.url, description: f.description })),
      ams: [],
    }))
  }

  async addFirmware(input: NewFirmware) {
    const row = await this.ctx.database.db
      .insertInto('firmware')
      .values({
        dev_model_name: input.dev_model_name,
        version: input.version,
        url: input.url,
        description: input.description ?? '',
        force_update: input.force_update ? 1 : 0,
        created_at: this.ctx.now(),
      })
      .onConflict((oc) => oc.columns(['dev_model_name', 'version']).doNothing())
      .returningAll()
      .executeTakeFirst()
    if (!row) throw new ApiError('conflict', `firmware ${input.version} for ${input.dev_model_name} already exists`)
    return row
  }

  // ---- admin -----------------------------------------------------------------------

  private async ownerUid(account: string): Promise<number> {
    const user = await this.accounts.byAccount(account)
    if (!user) throw new ApiError('badRequest', `no user with account ${account}`)
    return user.uid
  }

  /** Registers a device for an owner, or binds an unbound one; 409 while someone has it. */
  async register(input: NewDevice): Promise<DeviceRow> {
    const uid = await this.ownerUid(input.owner)
    const now = this.ctx.now()
    const existing = await this.get(input.dev_id)
    if (existing?.owner_uid != null) throw new ApiError('conflict', `device ${input.dev_id} is bound to a user`)
    const fields = {
      owner_uid: uid,
      name: input.name,
      dev_model_name: input.dev_model_name,
      dev_product_name: input.dev_product_name,
      dev_access_code: this.ctx.secrets.seal(input.dev_access_code ?? existing?.dev_access_code ?? randomDigits(8)),
      dev_structure: input.dev_structure ?? existing?.dev_structure ?? '',
      nozzle_diameter: input.nozzle_diameter ?? existing?.nozzle_diameter ?? 0.4,
      firmware_version: input.firmware_version ?? existing?.firmware_version ?? null,
      bound_at: now,
      updated_at: now,
    }
    const { db } = this.ctx.database
    if (existing) {
      // Bound only if still unbound: a concurrent registration loses with 409.
      const row = await db
        .updateTable('devices')
        .set({ ...fields, ...CLEAR_STATE })
        .where('dev_id', '=', input.dev_id)
        .where('owner_uid', 'is', null)
        .returningAll()
        .executeTakeFirst()
      if (!row) throw new ApiError('conflict', `device ${input.dev_id} is bound to a user`)
      this.ownerChanged.emit(input.dev_id)
      return this.opened(row)
    }
    const row = await db
      .insertInto('devices')
      .values({ dev_id: input.dev_id, ...fields, online: 0, ...CLEAR_STATE, created_at: now })
      .onConflict((oc) => oc.column('dev_id').doNothing())
      .returningAll()
      .executeTakeFirst()
    if (!row) throw new ApiError('conflict', `device ${input.dev_id} is bound to a user`)
    this.ownerChanged.emit(input.dev_id)
    return this.opened(row)
  }

  /**
   * Changes a device; `owner: null` unbinds it, an account rebinds it when unbound. Giving
   * `lan_ip` (even the same one) forgets the pinned certificate: the way to trust a printer
   * that now presents another.
   */
  async update(devId: string, changes: DeviceFields & LanFields & { owner?: string | null | undefined }): Promise<DeviceRow> {
    const device = await this.get(devId)
    if (!device) throw new ApiError('notFound', `no device ${devId}`)
    if (typeof changes.lan_ip === 'string') assertLanHost(changes.lan_ip)
    if (changes.owner === null) await this.release(devId)
    else if (changes.owner !== undefined) {
      const uid = await this.ownerUid(changes.owner)
      if (device.owner_uid !== uid) {
        if (device.owner_uid !== null) throw new ApiError('conflict', `device ${devId} is bound to a user`)
        await this.ctx.database.db
          .updateTable('devices')
          .set({ owner_uid: uid, bound_at: this.ctx.now(), ...CLEAR_STATE })
          .where('dev_id', '=', devId)
          .execute()
        this.ownerChanged.emit(devId)
      }
    }
    const set: Partial<DeviceRow> = { updated_at: this.ctx.now() }
    for (const key of ['name', 'dev_model_name', 'dev_product_name', 'nozzle_diameter', 'dev_structure', 'firmware_version', 'lan_ip', 'lan_mqtt_port', 'lan_ftps_port'] as const) {
      if (changes[key] !== undefined) (set as Record<string, unknown>)[key] = changes[key]
    }
    if (changes.lan_ip !== undefined) set.lan_cert_sha256 = null
    if (changes.dev_access_code !== undefined) set.dev_access_code = this.ctx.secrets.seal(changes.dev_access_code)
    const row = await this.ctx.database.db.updateTable('devices').set(set).where('dev_id', '=', devId).returningAll().executeTakeFirstOrThrow()
    const lanKeys = ['lan_ip', 'lan_mqtt_port', 'lan_ftps_port', 'dev_access_code'] as const
    if (lanKeys.some((key) => changes[key] !== undefined)) this.lanChanged.emit(devId)
    return this.opened(row)
  }

  /** Bound printers the LAN bridge reaches. */
  async listBridged(): Promise<DeviceRow[]> {
    const rows = await this.ctx.database.db.selectFrom('devices').selectAll().where('lan_ip', 'is not', null).where('owner_uid', 'is not', null).orderBy('dev_id').execute()
    return rows.map((row) => this.opened(row))
  }

  /**
   * Trust on first use: pins `sha256` as the printer's certificate unless one is pinned
   * already. Returns the pinned fingerprint, which the caller compares with what it saw.
   */
  async pinLanCertificate(devId: string, sha256: string): Promise<string | null> {
    const { db } = this.ctx.database
    await db.updateTable('devices').set({ lan_cert_sha256: sha256 }).where('dev_id', '=', devId).where('lan_cert_sha256', 'is', null).execute()
    const row = await db.selectFrom('devices').select('lan_cert_sha256').where('dev_id', '=', devId).executeTakeFirst()
    return row?.lan_cert_sha256 ?? null
  }

  async remove(devId: string): Promise<void> {
    const { db } = this.ctx.database
    const res = await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('ttcodes').where('dev_id', '=', devId).execute()
      return trx.deleteFrom('devices').where('dev_id', '=', devId).executeTakeFirst()
    })
    if (Number(res.numDeletedRows) === 0) throw new ApiError('notFound', `no device ${devId}`)
    this.ownerChanged.emit(devId)
  }

  async listAll(): Promise<DeviceRow[]> {
    const rows = await this.ctx.database.db.selectFrom('devices').selectAll().orderBy('dev_id').execute()
    return rows.map((row) => this.opened(row))
  }
}
