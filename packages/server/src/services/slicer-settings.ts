/**
 * Slicer presets: the public catalog (published by the admin or imported from a Bambu
 * Studio profile tree) and each user's own presets, with per-type quotas. A deleted preset
 * keeps its row, marked deleted: its id then reads back as gone and DELETE stays idempotent.
 */
import { randomBytes } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import type { ProfileImportReport, SettingType } from '@bambu-cloud/protocol'
import type { ServiceContext } from '../context.ts'
import type { Database, SlicerSettingsTable } from '../db/schema.ts'
import { ApiError } from '../errors.ts'
import { resolveProfiles, type ProfileFiles, type ResolvedProfile } from '../lib/profile-tree.ts'
import { compareVersions } from '@bambu-cloud/protocol'

export type SettingRow = Selectable<SlicerSettingsTable>
export type SettingSummaryRow = Omit<SettingRow, 'setting' | 'base_id' | 'created_at' | 'deleted_at'>
export type SettingCatalog = Record<SettingType, { public: SettingSummaryRow[]; private: SettingSummaryRow[] }>

/** The real cloud's id prefixes: `PPUS1b03400426f57d` for a user's print preset, `GP001` public. */
const PRIVATE_PREFIX: Record<SettingType, string> = { print: 'PPUS', printer: 'PMUS', filament: 'PFUS' }
const PUBLIC_PREFIX: Record<SettingType, string> = { print: 'GP', printer: 'GM', filament: 'GFS' }

export interface SettingInput {
  type: SettingType
  name: string
  version: string
  base_id?: string | null | undefined
  filament_id?: string | null | undefined
  nickname?: string | null | undefined
  setting: Record<string, unknown>
}

export type SettingChanges = Partial<Omit<SettingInput, 'type'>>

/** Optional text fields: absent or empty means unset (null on the wire). */
const orNull = (value: string | null | undefined) => (value ? value : null)

export class SlicerSettingService {
  constructor(private readonly ctx: ServiceContext) {}

  private get db() {
    return this.ctx.database.db
  }

  /**
   * The caller's live presets and, unless `withPublic` is false, the public ones whose
   * version is not newer than the client's (a newer preset may use keys it does not know).
   * Own presets are listed whatever their version, so a user can always see and delete them.
   */
  async catalog(uid: number, clientVersion: string, withPublic: boolean): Promise<SettingCatalog> {
    let query = this.db
      .selectFrom('slicer_settings')
      .select(['setting_id', 'owner_uid', 'type', 'name', 'nickname', 'version', 'filament_id', 'updated_at'])
      .where('deleted_at', 'is', null)
    query = withPublic
      ? query.where((eb) => eb.or([eb('owner_uid', 'is', null), eb('owner_uid', '=', uid)]))
      : query.where('owner_uid', '=', uid)
    const rows = await query.execute()
    const out: SettingCatalog = { print: { public: [], private: [] }, printer: { public: [], private: [] }, filament: { public: [], private: [] } }
    for (const row of rows) {
      const group = out[row.type]
      if (row.owner_uid !== null) group.private.push(row)
      else if (compareVersions(row.version, clientVersion) <= 0) group.public.push(row)
    }
    // Sorted here, not in SQL: text collation differs between SQLite and PostgreSQL.
    const byId = (a: SettingSummaryRow, b: SettingSummaryRow) => (a.setting_id < b.setting_id ? -1 : a.setting_id > b.setting_id ? 1 : 0)
    for (const group of Object.values(out)) {
      group.public.sort(byId)
      group.private.sort((a, b) => a.updated_at - b.updated_at || byId(a, b))
    }
    return out
  }

  /** A live preset the caller may read: public, or their own. */
  async get(uid: number, settingId: string): Promise<SettingRow> {
    const row = await this.db.selectFrom('slicer_settings').selectAll().where('setting_id', '=', settingId).executeTakeFirst()
    if (!row || row.deleted_at !== null) throw gone(settingId)
    if (row.owner_uid !== null && row.owner_uid !== uid) throw new ApiError('forbidden')
    return row
  }

  /** Saves a new preset of the caller's, within the quota for its type. */
  async create(uid: number, input: SettingInput): Promise<SettingRow> {
    return this.db.transaction().execute(async (trx) => {
      // Creates of one user take turns, so two at once cannot both take the last slot.
      // (SQLite writes one transaction at a time anyway.)
      if (this.ctx.database.dialect === 'postgres') {
        await trx.selectFrom('users').select('uid').where('uid', '=', uid).forUpdate().execute()
      }
      const { n } = await trx
        .selectFrom('slicer_settings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('owner_uid', '=', uid)
        .where('type', '=', input.type)
        .where('deleted_at', 'is', null)
        .executeTakeFirstOrThrow()
      const quota = this.ctx.config.settingQuotas[input.type]
      if (Number(n) >= quota) throw new ApiError('presetQuotaExceeded', `at most ${quota} ${input.type} presets can be kept in the cloud`)
      return this.insert(trx, uid, PRIVATE_PREFIX[input.type], 7, input)
    })
  }

  /** Changes the caller's own live preset. */
  async update(uid: number, settingId: string, changes: SettingChanges): Promise<SettingRow> {
    const row = await this.get(uid, settingId)
    if (row.owner_uid === null) throw new ApiError('forbidden')
    const values: Partial<SettingRow> = { updated_at: this.ctx.now() }
    if (changes.name !== undefined) values.name = changes.name
    if (changes.version !== undefined) values.version = changes.version
    if (changes.setting !== undefined) values.setting = JSON.stringify(changes.setting)
    if (changes.base_id !== undefined) values.base_id = orNull(changes.base_id)
    if (changes.filament_id !== undefined) values.filament_id = orNull(changes.filament_id)
    if (changes.nickname !== undefined) values.nickname = orNull(changes.nickname)
    return this.db
      .updateTable('slicer_settings')
      .set(values)
      .where('setting_id', '=', settingId)
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  /** Deletes the caller's own preset; an id already gone (or never seen) is fine too. */
  async remove(uid: number, settingId: string): Promise<void> {
    const row = await this.db
      .selectFrom('slicer_settings')
      .select(['owner_uid', 'deleted_at'])
      .where('setting_id', '=', settingId)
      .executeTakeFirst()
    if (!row || row.deleted_at !== null) return
    if (row.owner_uid !== uid) throw new ApiError('forbidden')
    const now = this.ctx.now()
    // The content goes; the row stays so the id reads back as deleted.
    await this.db
      .updateTable('slicer_settings')
      .set({ deleted_at: now, updated_at: now, setting: '{}' })
      .where('setting_id', '=', settingId)
      .execute()
  }

  /** Adds a preset to the public catalog (admin). */
  async publish(input: SettingInput & { setting_id?: string | undefined }): Promise<SettingRow> {
    if (input.setting_id === undefined) return this.insert(this.db, null, PUBLIC_PREFIX[input.type], 6, input)
    const row = await this.insertRow(this.db, input.setting_id, null, input)
    if (!row) throw new ApiError('conflict', `setting ${input.setting_id} already exists`)
    return row
  }

  /**
   * Loads a Bambu Studio profile tree into the public catalog: its instantiable presets,
   * inheritance resolved. Idempotent: a preset already there (same id, or same type and
   * name when the file names no id) is updated, and only when it changed.
   */
  async importProfiles(files: ProfileFiles): Promise<ProfileImportReport> {
    const { profiles, problems } = resolveProfiles(files)
    if (profiles.length === 0 && problems.length === 0) {
      throw new ApiError('badRequest', 'no Bambu Studio profiles found (JSON objects with a type and a name)')
    }
    const report: ProfileImportReport = { created: 0, updated: 0, unchanged: 0, problems }
    await this.db.transaction().execute(async (trx) => {
      const seen = new Map<string, string>()
      for (const profile of profiles) {
        const outcome = await this.importOne(trx, profile, seen)
        if (typeof outcome === 'string') problems.push({ file: profile.file, message: outcome })
        else report[outcome.result]++
      }
    })
    return report
  }

  private async importOne(
    trx: Kysely<Database>,
    profile: ResolvedProfile,
    seen: Map<string, string>,
  ): Promise<{ result: 'created' | 'updated' | 'unchanged' } | string> {
    const existing = await trx
      .selectFrom('slicer_settings')
      .selectAll()
      .$call((q) =>
        profile.setting_id !== null
          ? q.where('setting_id', '=', profile.setting_id)
          : q.where('owner_uid', 'is', null).where('type', '=', profile.type).where('name', '=', profile.name),
      )
      .executeTakeFirst()
    const id = profile.setting_id ?? existing?.setting_id
    if (id !== undefined) {
      if (seen.has(id)) return `setting_id ${id} is also used by ${seen.get(id)}`
      seen.set(id, profile.file)
    }
    if (existing && existing.owner_uid !== null) return `setting_id ${existing.setting_id} belongs to a user's preset`
    const input: SettingInput = {
      type: profile.type,
      name: profile.name,
      nickname: profile.nickname,
      version: profile.version,
      filament_id: profile.filament_id,
      setting: profile.setting,
    }
    if (!existing) {
      const row = id === undefined ? await this.insert(trx, null, PUBLIC_PREFIX[profile.type], 6, input) : await this.insertRow(trx, id, null, input)
      if (!row) return `setting_id ${id} could not be stored`
      seen.set(row.setting_id, profile.file)
      return { result: 'created' }
    }
    const values = {
      type: profile.type,
      name: profile.name,
      nickname: profile.nickname,
      version: profile.version,
      base_id: null,
      filament_id: profile.filament_id,
      setting: JSON.stringify(profile.setting),
      deleted_at: null,
    }
    const same = (Object.keys(values) as (keyof typeof values)[]).every((k) => existing[k] === values[k])
    if (same) return { result: 'unchanged' }
    await trx.updateTable('slicer_settings').set({ ...values, updated_at: this.ctx.now() }).where('setting_id', '=', existing.setting_id).execute()
    return { result: 'updated' }
  }

  /** Inserts under a fresh random id: `prefix` + `bytes` random bytes in hex. */
  private async insert(db: Kysely<Database>, owner: number | null, prefix: string, bytes: number, input: SettingInput): Promise<SettingRow> {
    // A clash is all but impossible at these lengths, but the primary key decides.
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await this.insertRow(db, prefix + randomBytes(bytes).toString('hex'), owner, input)
      if (row) return row
    }
    throw new Error('could not find a free setting_id')
  }

  /** Inserts under `settingId`; undefined when that id is taken (deleted ones included). */
  private async insertRow(db: Kysely<Database>, settingId: string, owner: number | null, input: SettingInput): Promise<SettingRow | undefined> {
    const now = this.ctx.now()
    return db
      .insertInto('slicer_settings')
      .values({
        setting_id: settingId,
        owner_uid: owner,
        type: input.type,
        name: input.name,
        nickname: orNull(input.nickname),
        version: input.version,
        base_id: orNull(input.base_id),
        filament_id: orNull(input.filament_id),
        setting: JSON.stringify(input.setting),
        created_at: now,
        updated_at: now,
        deleted_at: null,
      })
      .onConflict((oc) => oc.column('setting_id').doNothing())
      .returningAll()
      .executeTakeFirst()
  }
}

/** An id that is unknown or deleted: the cloud answers 400. */
function gone(settingId: string): ApiError {
  return new ApiError('badRequest', `setting ${settingId} does not exist`)
}
