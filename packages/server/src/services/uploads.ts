/**
 * The slicer's upload flow, server side. Creating a project opens a ticket and a signed
 * upload URL; the PUT stores the file; the notification queues it for processing (in this
 * process, a few at a time, off the request path); processing reads the 3MF and fills the
 * profile, the project and any task already made for one of its plates. Clients may take
 * any 2xx of the poll as done, so nothing here depends on the poll or on call order.
 *
 * A failed ticket keeps its reason (every later call with it answers 422 with it) and
 * loses its file; the sweep removes what was abandoned or whose project is gone.
 */
import type { Readable } from 'node:stream'
import type { UpdateProjectRequest, UploadAction } from '@bambu-cloud/protocol'
import type { ServiceContext } from '../context.ts'
import { ApiError } from '../errors.ts'
import { checkArchive, readThreeMf, ThreeMfError, type ThreeMfFacts } from '../lib/three-mf.ts'
import { createWorkQueue, type WorkQueue } from '../lib/work-queue.ts'
import type { BlobInfo, BlobStore } from '../storage/blob-store.ts'
import { keyOf, type FileLinks } from './file-links.ts'
import { attachedPrints, lockProfile, type PrintFileService, type UploadTarget } from './print-files.ts'
import { buildContext, withPrints } from './profile-context.ts'
import { newTicket, plateEstimate, type ProjectService, type UploadTicketRow } from './projects.ts'
import { claimUpload, sweepClaims } from './upload-claims.ts'
import { inspectStaged, keepStaged, stageUpload } from './upload-intake.ts'

/** Jobs processed at once: each holds at most a few metadata files (16 MiB each at most). */
const CONCURRENCY = 2
/** Blobs younger than this are never taken for strays (a commit may be under way). */
const STRAY_GRACE_MS = 60_000

export interface CreatedProject {
  projectId: number
  modelId: string
  profileId: number
  uploadUrl: string
  ticket: string
}

export interface SweepReport {
  abandonedTickets: number
  unattachedPrintFiles: number
  strayBlobs: number
  stagingLeftovers: number
  staleClaims: number
}

export class UploadService {
  private readonly queue: WorkQueue

  constructor(
    private readonly ctx: ServiceContext,
    private readonly projects: ProjectService,
    private readonly links: FileLinks,
    private readonly blobs: BlobStore,
    private readonly printFiles: PrintFileService,
  ) {
    this.queue = createWorkQueue(CONCURRENCY, (err) => ctx.log.error({ err }, 'upload processing failed'))
  }

  /** `POST user/project`: the project, its first profile and the ticket of its upload, together. */
  async createProject(uid: number, name: string): Promise<CreatedProject> {
    const signer = await this.links.signer()
    const ticket = newTicket()
    // Its own random name, not the ticket: URLs get logged, and the ticket stays out of them.
    const file = `upload-${newTicket()}.3mf`
    return this.ctx.database.db.transaction().execute(async (trx) => {
      const project = await this.projects.createProject(uid, { name }, trx)
      const profile = await this.projects.addProfile(project.project_id, { name, context: {} }, trx)
      const blobKey = keyOf(project.project_id, file)
      const uploadUrl = signer.upload(blobKey)
      await this.projects.openUpload(project.project_id, { profileId: profile.profile_id, ticket, uploadUrl, blobKey }, trx)
      return { projectId: project.project_id, modelId: project.model_id, profileId: profile.profile_id, uploadUrl, ticket }
    })
  }

  /** `PUT <upload_url>`: stores the project's file, once; concurrent PUTs are refused at once (409). */
  async receive(target: Extract<UploadTarget, { kind: 'project' }>, body: Readable, declaredLength: number | null): Promise<BlobInfo> {
    const { db } = this.ctx.database
    const key = keyOf(target.projectId, target.file)
    const row = await db
      .selectFrom('upload_tickets')
      .selectAll()
      .where('blob_key', '=', key)
      .where('project_id', '=', target.projectId)
      .where('action', '=', 'upload')
      .executeTakeFirst()
    if (!row) throw new ApiError('notFound', 'No such upload')
    const { ticket } = row
    assertOpen(row, 'This upload URL was already used')
    const claim = await claimUpload(this.ctx, {
      key,
      uid: row.uid,
      declaredLength,
      used: async (trx) => {
        const current = await trx.selectFrom('upload_tickets').select(['status', 'uploaded_at']).where('ticket', '=', ticket).executeTakeFirstOrThrow()
        return current.status !== 'running' || current.uploaded_at !== null
      },
    })
    // A refused PUT fails the ticket (it holds the URL's claim, so no other PUT delivered meanwhile).
    const refuse = async (message: string) => {
      await db
        .updateTable('upload_tickets')
        .set({ status: 'failed', error: message, updated_at: this.ctx.now() })
        .where('ticket', '=', ticket)
        .where('status', '=', 'running')
        .where('uploaded_at', 'is', null)
        .execute()
    }
    try {
      const staged = await stageUpload(this.blobs, this.ctx.config, body, declaredLength, refuse, claim)
      // Only the directory is read here; the rest waits for the notification.
      await inspectStaged(staged, checkArchive, refuse)
      const now = this.ctx.now()
      return await keepStaged(
        db,
        claim,
        staged,
        key,
        async (trx) => {
          const stored = await trx
            .updateTable('upload_tickets')
            .set({ size: staged.size, md5: staged.md5, uploaded_at: now, updated_at: now })
            .where('ticket', '=', ticket)
            .where('status', '=', 'running')
            .where('uploaded_at', 'is', null)
            .executeTakeFirst()
          // Failed meanwhile (the sweep gave it up): the URL takes nothing more.
          if (Number(stored.numUpdatedRows) !== 1) throw new ApiError('ticketUsed', 'This upload URL was already used')
        },
        () => db.updateTable('upload_tickets').set({ size: null, md5: null, uploaded_at: null }).where('ticket', '=', ticket).execute(),
      )
    } catch (err) {
      await claim.release()
      throw err
    }
  }

  /** The caller's ticket: unknown ones may say so (they are random), others' are forbidden. */
  private async ticketOf(uid: number, action: UploadAction, ticket: string): Promise<UploadTicketRow> {
    const row = await this.ctx.database.db
      .selectFrom('upload_tickets')
      .selectAll()
      .where('ticket', '=', ticket)
      .where('action', '=', action)
      .executeTakeFirst()
    if (!row) throw new ApiError('notFound', 'No such ticket')
    if (row.uid !== uid) throw new ApiError('forbidden')
    return row
  }

  /**
   * `PATCH user/project/{id}`: a new name, and/or the print-ready file per plate of one of
   * its profiles (`profile_id`, which Studio sends as a string).
   */
  async updateProject(uid: number, projectId: number, patch: UpdateProjectRequest): Promise<void> {
    await this.projects.ownedProject(uid, projectId)
    const profileId = patch.profile_id === undefined ? null : Number(patch.profile_id)
    if (profileId !== null) await this.projects.profileInProject(projectId, profileId)
    const prints = patch.profile_print_3mf ?? []
    if (prints.length > 0 && profileId === null) throw new ApiError('fieldNotSet', "field 'profile_id' is not set")
    if (patch.name !== undefined) await this.projects.rename(projectId, patch.name)
    if (profileId !== null && prints.length > 0) await this.printFiles.attach(projectId, profileId, prints)
  }

  /** `PUT user/notification`: the file is complete; process it. A ticket is notified once. */
  async notify(uid: number, ticket: string, fileName: string | undefined): Promise<void> {
    const row = await this.ticketOf(uid, 'upload', ticket)
    assertOpen(row, 'This upload ticket was already used')
    if (row.notified_at !== null) throw new ApiError('ticketUsed', 'This upload ticket was already used')
    if (row.uploaded_at === null) throw new ApiError('badRequest', 'No file has been uploaded for this ticket')
    const now = this.ctx.now()
    const updated = await this.ctx.database.db
      .updateTable('upload_tickets')
      .set({ notified_at: now, file_name: fileName?.trim() || null, updated_at: now })
      .where('ticket', '=', ticket)
      .where('status', '=', 'running')
      .where('notified_at', 'is', null)
      .executeTakeFirst()
    if (Number(updated.numUpdatedRows) !== 1) throw new ApiError('ticketUsed', 'This upload ticket was already used')
    this.queue.push(() => this.process(ticket))
  }

  /** `GET user/notification`: running or success; a failure is an error with its reason. */
  async status(uid: number, action: UploadAction, ticket: string): Promise<'running' | 'success'> {
    const row = await this.ticketOf(uid, action, ticket)
    assertNotFailed(row)
    return row.status === 'success' ? 'success' : 'running'
  }

  /** Fails a running ticket with a reason the poll reports, and removes its file (if it came). */
  async fail(ticket: string, reason: string): Promise<void> {
    await this.ctx.database.db.transaction().execute(async (trx) => {
      const failed = await trx
        .updateTable('upload_tickets')
        .set({ status: 'failed', error: reason, updated_at: this.ctx.now() })
        .where('ticket', '=', ticket)
        .where('status', '=', 'running')
        .returning('blob_key')
        .executeTakeFirst()
      // Gone before the failure shows: a client that sees it finds nothing left behind.
      if (failed?.blob_key) await this.blobs.delete(failed.blob_key)
    })
  }

  private async process(ticket: string): Promise<void> {
    const row = await this.ctx.database.db
      .selectFrom('upload_tickets')
      .innerJoin('projects', 'projects.project_id', 'upload_tickets.project_id')
      .selectAll('upload_tickets')
      .select(['projects.model_id', 'projects.name'])
      .where('upload_tickets.ticket', '=', ticket)
      .executeTakeFirst()
    if (!row || row.status !== 'running' || row.notified_at === null || row.uploaded_at === null || row.blob_key === null || row.profile_id === null) return
    const file = await this.blobs.open(row.blob_key)
    if (!file) return this.fail(ticket, 'The uploaded file is gone')
    let facts: ThreeMfFacts
    try {
      facts = await readThreeMf(file)
    } catch (err) {
      if (err instanceof ThreeMfError) return this.fail(ticket, `Wrong file format: ${err.message}`)
      this.ctx.log.error({ err, ticket: ticket.slice(0, 6) }, 'reading an uploaded 3MF failed')
      return this.fail(ticket, 'The file could not be processed')
    } finally {
      await file.close()
    }
    try {
      await this.finish({ ...row, blob_key: row.blob_key, profile_id: row.profile_id }, facts)
    } catch (err) {
      this.ctx.log.error({ err, ticket: ticket.slice(0, 6) }, 'storing an upload’s facts failed')
      await this.fail(ticket, 'The file could not be processed')
    }
  }

  /** Writes what the file says: profile context and file, project download, plate facts of tasks. */
  private async finish(
    row: UploadTicketRow & { blob_key: string; profile_id: number; model_id: string; name: string },
    facts: ThreeMfFacts,
  ): Promise<void> {
    const signer = await this.links.signer()
    const now = this.ctx.now()
    const url = signer.download(row.blob_key)
    const built = buildContext(facts, row.blob_key, signer)
    await this.ctx.database.db.transaction().execute(async (trx) => {
      const settled = await trx
        .updateTable('upload_tickets')
        .set({ status: 'success', updated_at: now })
        .where('ticket', '=', row.ticket)
        .where('status', '=', 'running')
        .executeTakeFirst()
      // Failed or finished meanwhile (the sweep, another server): leave it as it is.
      if (Number(settled.numUpdatedRows) !== 1) return
      await lockProfile(trx, row.profile_id, now)
      const context = withPrints(built, await attachedPrints(trx, row.profile_id), signer)
      await trx
        .updateTable('project_profiles')
        .set({ context: JSON.stringify(context), filename: row.file_name ?? row.name, url, md5: row.md5 })
        .where('profile_id', '=', row.profile_id)
        .execute()
      await trx.updateTable('projects').set({ download_url: url, download_md5: row.md5, updated_at: now }).where('project_id', '=', row.project_id).execute()
      // Tasks made for a plate before its facts were known (clients that do not wait) get them now.
      for (const plate of context.plates) {
        const estimate = plateEstimate(plate)
        await trx
          .updateTable('tasks')
          .set({
            ...(estimate.cover === null ? {} : { cover: estimate.cover }),
            weight: estimate.weight,
            cost_time: estimate.costTime,
            length: estimate.length,
            updated_at: now,
          })
          .where('uid', '=', row.uid)
          .where('profile_id', '=', row.profile_id)
          .where('plate_index', '=', plate.index)
          .where('model_id', '=', row.model_id)
          .execute()
      }
    })
  }

  /** Queues the uploads notified but not finished (a restart cut them off). */
  async resume(): Promise<void> {
    const rows = await this.ctx.database.db
      .selectFrom('upload_tickets')
      .select('ticket')
      .where('status', '=', 'running')
      .where('notified_at', 'is not', null)
      .execute()
    for (const { ticket } of rows) this.queue.push(() => this.process(ticket))
  }

  /** Resolves once no upload is queued or being processed. */
  idle(): Promise<void> {
    return this.queue.idle()
  }

  /** Stops taking work and waits for the jobs under way. */
  close(): Promise<void> {
    return this.queue.close()
  }

  /**
   * Removes what nobody will use: uploads never notified and print files never attached
   * within UPLOAD_ABANDON_AFTER, files of projects that are gone, staging leftovers, and
   * upload claims a crash left behind.
   */
  async sweep(): Promise<SweepReport> {
    const { db } = this.ctx.database
    const now = this.ctx.now()
    const cutoff = now - this.ctx.config.uploadAbandonAfter * 1000
    const report: SweepReport = { abandonedTickets: 0, unattachedPrintFiles: 0, strayBlobs: 0, stagingLeftovers: 0, staleClaims: 0 }

    const stale = await db
      .selectFrom('upload_tickets')
      .select('ticket')
      .where('status', '=', 'running')
      .where('notified_at', 'is', null)
      .where('created_at', '<', cutoff)
      .execute()
    for (const { ticket } of stale) {
      await this.fail(ticket, `The upload was abandoned: no notification within ${this.ctx.config.uploadAbandonAfter} seconds`)
      report.abandonedTickets++
    }

    const loose = await db.selectFrom('print_files').select(['id', 'blob_key']).where('attached_at', 'is', null).where('created_at', '<', cutoff).execute()
    for (const file of loose) {
      const removed = await db.deleteFrom('print_files').where('id', '=', file.id).where('attached_at', 'is', null).executeTakeFirst()
      if (Number(removed.numDeletedRows) !== 1) continue
      await this.blobs.delete(file.blob_key)
      report.unattachedPrintFiles++
    }

    // Listed before the references are read: a blob committed after its row, so it is covered.
    const blobs = []
    for await (const blob of this.blobs.list()) if (blob.modifiedMs < now - STRAY_GRACE_MS) blobs.push(blob)
    const referenced = new Set([
      ...(await db.selectFrom('upload_tickets').select('blob_key').where('blob_key', 'is not', null).where('status', '!=', 'failed').execute()).map((r) => r.blob_key),
      ...(await db.selectFrom('print_files').select('blob_key').execute()).map((r) => r.blob_key),
    ])
    for (const blob of blobs) {
      if (referenced.has(blob.key)) continue
      await this.blobs.delete(blob.key)
      report.strayBlobs++
    }
    report.stagingLeftovers = await this.blobs.sweepStaging(cutoff)
    report.staleClaims = await sweepClaims(db, cutoff)
    return report
  }
}

/** A failed ticket answers with its reason; a finished one is used up. */
function assertOpen(row: UploadTicketRow, used: string): void {
  assertNotFailed(row)
  if (row.status !== 'running') throw new ApiError('ticketUsed', used)
}

function assertNotFailed(row: UploadTicketRow): void {
  if (row.status === 'failed') throw new ApiError('uploadFailed', row.error ?? 'The upload failed')
}
