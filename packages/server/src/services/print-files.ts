/**
 * Print-ready 3MF files, one per plate: after the project file, a slicer asks for upload
 * URLs (`user/upload?models=<model>_<profile>_<plate>.3mf`), PUTs each file there and
 * names it in `PATCH user/project/{id}`. An attached file gives its plate's G-code link;
 * one never attached is removed by the sweep.
 */
import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { Kysely, Selectable } from 'kysely'
import type { ProfilePrint3mf, UploadUrl } from '@bambu-cloud/protocol'
import type { ServiceContext } from '../context.ts'
import type { Database, PrintFilesTable } from '../db/schema.ts'
import { ApiError } from '../errors.ts'
import { findPlateGcode, readPlateDetails, ThreeMfError } from '../lib/three-mf.ts'
import type { BlobInfo, BlobStore } from '../storage/blob-store.ts'
import { keyOf, type FileLinks, type FileSigner } from './file-links.ts'
import { findOwnedProfile } from './projects.ts'
import { isBuiltContext, withPrints, type AttachedPrint } from './profile-context.ts'
import { claimUpload } from './upload-claims.ts'
import { inspectStaged, keepStaged, stageUpload } from './upload-intake.ts'

export type PrintFileRow = Selectable<PrintFilesTable>

const MODEL_FILE = /^([A-Za-z0-9]{1,64})_(\d{1,16})_(\d{1,4})\.3mf$/
const PRINT_FILE = /^print-(\d{1,16})-(\d{1,4})-[0-9a-f]{16}\.3mf$/
const PROJECT_FILE = /^upload-[0-9a-f]{32}\.3mf$/

/** What a signed upload path names: the project's file (its ticket's) or a plate's print file. */
export type UploadTarget =
  | { kind: 'project'; projectId: number; file: string }
  | { kind: 'print'; projectId: number; file: string; profileId: number; plate: number }

export function parseUploadTarget(projectId: string, file: string): UploadTarget | null {
  if (!/^\d{1,16}$/.test(projectId)) return null
  if (PROJECT_FILE.test(file)) return { kind: 'project', projectId: Number(projectId), file }
  const print = PRINT_FILE.exec(file)
  if (print) return { kind: 'print', projectId: Number(projectId), file, profileId: Number(print[1]), plate: Number(print[2]) }
  return null
}

/** Takes the row lock on a profile, so processing and PATCH update its context one at a time. */
export async function lockProfile(db: Kysely<Database>, profileId: number, now: number): Promise<void> {
  await db.updateTable('project_profiles').set({ updated_at: now }).where('profile_id', '=', profileId).execute()
}

export function attachedPrints(db: Kysely<Database>, profileId: number): Promise<AttachedPrint[]> {
  return db
    .selectFrom('print_files')
    .select(['plate_index', 'blob_key', 'gcode_entry'])
    .where('profile_id', '=', profileId)
    .where('attached_at', 'is not', null)
    .orderBy('attached_at', 'desc')
    .execute()
}

/** An md5 a client gave: absent, empty and all zeros (Studio's placeholder) all mean none. */
export function givenMd5(md5: string | null | undefined): md5 is string {
  return typeof md5 === 'string' && md5 !== '' && !/^0+$/.test(md5)
}

/** The entry's file must have arrived, and match the MD5 the client names (if it names one). */
function checkUploaded(entry: ProfilePrint3mf, md5: string | null | undefined): void {
  if (!md5) throw new ApiError('badRequest', `No file has been uploaded for plate ${entry.plate_idx} at the given url`)
  if (givenMd5(entry.md5) && entry.md5!.toLowerCase() !== md5) throw new ApiError('badRequest', `md5 of plate ${entry.plate_idx} does not match the uploaded file`)
}

/** The stored 3MF that prints one plate. */
export interface PlateFile {
  projectId: number
  blobKey: string
  md5: string
}

export class PrintFileService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly links: FileLinks,
    private readonly blobs: BlobStore,
  ) {}

  /**
   * `GET user/upload`: a signed PUT URL per requested file, for the caller's own profiles.
   * `models` names `<model_id>_<profile_id>_<plate>.3mf` files (comma-separated); any other
   * key (`filename`, `size`, ...) gets one URL, for the profile its value names that way or
   * else the caller's newest profile (the later PATCH says which plate it prints).
   */
  async uploadUrls(uid: number, query: Record<string, string | undefined>): Promise<UploadUrl[]> {
    const asked: Array<{ type: string; file: string }> = []
    for (const [type, value] of Object.entries(query)) {
      if (value === undefined || value.trim() === '') continue
      if (type !== 'models') asked.push({ type, file: value.trim() })
      else for (const name of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) asked.push({ type, file: name })
    }
    if (asked.length === 0) throw new ApiError('fieldNotSet', "field 'models' is not set")
    if (asked.length > 100) throw new ApiError('badRequest', 'At most 100 models at once')
    const signer = await this.links.signer()
    const urls: UploadUrl[] = []
    for (const { type, file: name } of asked) {
      const m = MODEL_FILE.exec(name)
      const plate = Number(m?.[3] ?? 0)
      if (type === 'models' && (!m || plate < 1)) throw new ApiError('badRequest', `"${name}" is not <model_id>_<profile_id>_<plate>.3mf`)
      const named = m && plate >= 1 ? { modelId: m[1]!, profileId: Number(m[2]) } : null
      const profile = named
        ? await findOwnedProfile(this.ctx.database.db, uid, named.modelId, named.profileId).then((p) => p && { profile_id: named.profileId, project_id: p.project_id })
        : await this.newestProfile(uid)
      if (!profile) throw new ApiError('forbidden')
      const file = `print-${profile.profile_id}-${Math.max(plate, 1)}-${randomBytes(8).toString('hex')}.3mf`
      urls.push({ type, file: name, url: signer.upload(keyOf(profile.project_id, file)) })
    }
    return urls
  }

  /** The caller's most recently created profile: the project a client just uploaded. */
  private newestProfile(uid: number) {
    return this.ctx.database.db
      .selectFrom('project_profiles')
      .innerJoin('projects', 'projects.project_id', 'project_profiles.project_id')
      .select(['project_profiles.profile_id', 'project_profiles.project_id'])
      .where('projects.uid', '=', uid)
      .orderBy('project_profiles.profile_id', 'desc')
      .limit(1)
      .executeTakeFirst()
  }

  /** `PUT` to a print file's URL: kept once it is a zip; its plate's G-code entry is noted. Concurrent PUTs: 409 at once. */
  async receive(target: Extract<UploadTarget, { kind: 'print' }>, body: Readable, declaredLength: number | null): Promise<BlobInfo> {
    const { db } = this.ctx.database
    const key = keyOf(target.projectId, target.file)
    const profile = await db
      .selectFrom('project_profiles')
      .innerJoin('projects', 'projects.project_id', 'project_profiles.project_id')
      .select('projects.uid')
      .where('project_profiles.profile_id', '=', target.profileId)
      .where('project_profiles.project_id', '=', target.projectId)
      .executeTakeFirst()
    if (!profile) throw new ApiError('notFound', 'No such upload')
    const used = async (trx: Kysely<Database>) => (await trx.selectFrom('print_files').select('id').where('blob_key', '=', key).executeTakeFirst()) !== undefined
    const claim = await claimUpload(this.ctx, { key, uid: profile.uid, declaredLength, used })
    try {
      const nothing = async () => {}
      const staged = await stageUpload(this.blobs, this.ctx.config, body, declaredLength, nothing, claim)
      const gcode = await inspectStaged(staged, (file) => findPlateGcode(file, target.plate), nothing)
      return await keepStaged(
        db,
        claim,
        staged,
        key,
        async (trx) => {
          const row = await trx
            .insertInto('print_files')
            .values({
              project_id: target.projectId,
              profile_id: target.profileId,
              plate_index: target.plate,
              blob_key: key,
              size: staged.size,
              md5: staged.md5,
              gcode_entry: gcode,
              attached_at: null,
              created_at: this.ctx.now(),
            })
            .returning('id')
            .executeTakeFirstOrThrow()
          return row.id
        },
        (id) => db.deleteFrom('print_files').where('id', '=', id).execute(),
      )
    } catch (err) {
      await claim.release()
      throw err
    }
  }

  /**
   * `PATCH user/project/{id}` with `profile_print_3mf`: each entry names a file this server
   * took for the project. Print files are attached to their plate (replacing an earlier
   * one); the project's own file needs nothing more. MD5s, when given, must match.
   */
  async attach(projectId: number, profileId: number, entries: ProfilePrint3mf[]): Promise<void> {
    const { db } = this.ctx.database
    const signer = await this.links.signer()
    const attach: Array<{ row: PrintFileRow; plate: number }> = []
    for (const entry of entries) {
      // Studio's first PATCH names each plate before its file exists: `ftp://<file name>`, md5 zeros.
      if (entry.url === '' || entry.url.startsWith('ftp://')) continue
      const target = this.resolve(entry.url, signer)
      if (target.projectId !== projectId) throw new ApiError('forbidden')
      if (target.kind === 'project') {
        const ticket = await db
          .selectFrom('upload_tickets')
          .select('md5')
          .where('blob_key', '=', keyOf(projectId, target.file))
          .where('project_id', '=', projectId)
          .where('uploaded_at', 'is not', null)
          .executeTakeFirst()
        checkUploaded(entry, ticket?.md5)
        continue
      }
      const row = await db.selectFrom('print_files').selectAll().where('blob_key', '=', keyOf(projectId, target.file)).executeTakeFirst()
      checkUploaded(entry, row?.md5)
      if (row!.profile_id !== profileId) throw new ApiError('badRequest', `The file for plate ${entry.plate_idx} was uploaded for another profile`)
      attach.push({ row: row!, plate: entry.plate_idx })
    }
    if (attach.length === 0) return
    const now = this.ctx.now()
    await db.transaction().execute(async (trx) => {
      await lockProfile(trx, profileId, now)
      for (const { row, plate } of attach) {
        await trx.updateTable('print_files').set({ attached_at: null }).where('profile_id', '=', profileId).where('plate_index', '=', plate).where('id', '!=', row.id).execute()
        await trx.updateTable('print_files').set({ attached_at: now, plate_index: plate }).where('id', '=', row.id).execute()
      }
      // Once the project file is processed, its plates show the new G-code at once.
      const current = await trx.selectFrom('project_profiles').select('context').where('profile_id', '=', profileId).executeTakeFirstOrThrow()
      const context: unknown = JSON.parse(current.context)
      if (!isBuiltContext(context)) return
      const next = withPrints(context, await attachedPrints(trx, profileId), signer)
      await trx.updateTable('project_profiles').set({ context: JSON.stringify(next) }).where('profile_id', '=', profileId).execute()
    })
  }

  /**
   * The 3MF that prints a plate of one of the user's profiles: the plate's print-ready file
   * when one is attached, else the project's own upload; null when there is neither.
   */
  async forPlate(uid: number, modelId: string, profileId: number, plate: number): Promise<PlateFile | null> {
    const { db } = this.ctx.database
    const profile = await findOwnedProfile(db, uid, modelId, profileId)
    if (!profile) return null
    const print = await db
      .selectFrom('print_files')
      .select(['blob_key', 'md5'])
      .where('profile_id', '=', profileId)
      .where('plate_index', '=', plate)
      .where('attached_at', 'is not', null)
      .orderBy('attached_at', 'desc')
      .executeTakeFirst()
    if (print) return { projectId: profile.project_id, blobKey: print.blob_key, md5: print.md5 }
    const upload = await db
      .selectFrom('upload_tickets')
      .select(['blob_key', 'md5'])
      .where('project_id', '=', profile.project_id)
      .where('profile_id', '=', profileId)
      .where('action', '=', 'upload')
      .where('uploaded_at', 'is not', null)
      .where('status', '!=', 'failed')
      .orderBy('uploaded_at', 'desc')
      .executeTakeFirst()
    if (upload?.blob_key && upload.md5) return { projectId: profile.project_id, blobKey: upload.blob_key, md5: upload.md5 }
    return null
  }

  /**
   * A stored 3MF of one of the user's projects named by a URL this server signed (upload or
   * download): its download URL and md5, for a printer, which can only GET. Null for any
   * other URL, and for a file not uploaded yet.
   */
  async printableOf(uid: number, url: string): Promise<{ url: string; md5: string } | null> {
    const signer = await this.links.signer()
    const target = this.targetOf(url, signer, 'PUT') ?? this.targetOf(url, signer, 'GET')
    if (!target) return null
    const { db } = this.ctx.database
    const key = keyOf(target.projectId, target.file)
    const owner = await db.selectFrom('projects').select('uid').where('project_id', '=', target.projectId).executeTakeFirst()
    if (owner?.uid !== uid) return null
    const stored =
      target.kind === 'print'
        ? await db.selectFrom('print_files').select('md5').where('blob_key', '=', key).executeTakeFirst()
        : await db.selectFrom('upload_tickets').select('md5').where('blob_key', '=', key).where('uploaded_at', 'is not', null).executeTakeFirst()
    return stored?.md5 ? { url: signer.download(key), md5: stored.md5 } : null
  }

  /**
   * A plate's bed type and a link to its thumbnail, read from the 3MF that prints it (the
   * print-ready file carries a thumbnail even when the project's first upload had none).
   * Nulls when there is no such file or it cannot be read.
   */
  async plateDetails(uid: number, modelId: string, profileId: number, plate: number): Promise<{ bedType: string | null; cover: string | null }> {
    const none = { bedType: null, cover: null }
    const file = await this.forPlate(uid, modelId, profileId, plate)
    const stored = file && (await this.blobs.open(file.blobKey))
    if (!file || !stored) return none
    try {
      const details = await readPlateDetails(stored, plate)
      const signer = await this.links.signer()
      return { bedType: details.bedType, cover: details.thumbnail && signer.download(file.blobKey, details.thumbnail) }
    } catch (err) {
      if (err instanceof ThreeMfError) return none
      throw err
    } finally {
      await stored.close()
    }
  }

  /** A URL this server signed for an upload (expired is fine: the file is already here). */
  private resolve(url: string, signer: FileSigner): UploadTarget {
    const target = this.targetOf(url, signer, 'PUT')
    if (!target) throw new ApiError('badRequest', 'url is not an upload URL of this server')
    return target
  }

  /** The file a URL signed for `method` names; null when the URL is not one (an expired one is). */
  private targetOf(url: string, signer: FileSigner, method: 'GET' | 'PUT'): UploadTarget | null {
    let parsed: URL
    try {
      parsed = new URL(url, this.ctx.config.publicUrl)
    } catch {
      return null
    }
    const m = /^\/files\/([^/]+)\/([^/]+)$/.exec(parsed.pathname)
    // Our file names need no escaping, so an escaped one is not ours.
    const target = m ? parseUploadTarget(m[1]!, m[2]!) : null
    if (!target) return null
    return signer.verify(method, parsed.pathname, Object.fromEntries(parsed.searchParams)) === 'mismatch' ? null : target
  }
}
