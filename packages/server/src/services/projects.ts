/**
 * Cloud projects: projects, their profiles (plates and predictions in a JSON `context`)
 * and upload tickets. The upload service fills them; routes read them; tasks ask for a
 * plate's cover and estimates. Writers take an optional executor so the upload service
 * can create a project, its profile and its ticket in one transaction.
 */
import { randomBytes } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import type { UploadAction, UploadStatus } from '@bambu-cloud/protocol'
import type { ServiceContext } from '../context.ts'
import type { Database, ProjectProfilesTable, ProjectsTable, UploadTicketsTable } from '../db/schema.ts'
import { ApiError } from '../errors.ts'

export type ProjectRow = Selectable<ProjectsTable>
export type ProfileRow = Selectable<ProjectProfilesTable>
export type UploadTicketRow = Selectable<UploadTicketsTable>

/** Real model ids are a region-style prefix and 14 hex digits. */
const MODEL_ID_PREFIX = 'US'

export interface NewProject {
  name: string
  content?: string | null | undefined
}

export interface NewProfile {
  name: string
  context: Record<string, unknown>
  content?: string | null | undefined
  filename?: string | null | undefined
  url?: string | null | undefined
  md5?: string | null | undefined
}

/** A plate's estimates, as a task records them. */
export interface PlateEstimate {
  /** The plate's thumbnail URL. */
  cover: string | null
  /** Grams. */
  weight: number
  /** Seconds. */
  costTime: number
  /** Millimetres of filament, all filaments together. */
  length: number
  /** Grams of each filament the plate uses, by its number in the project (`id`, from 1). */
  filaments: { id: number; grams: number }[]
}

export interface ProjectDetail {
  project: ProjectRow
  profiles: ProfileRow[]
  /** The newest upload still running for the project, if any. */
  upload: UploadTicketRow | null
}

export class ProjectService {
  constructor(private readonly ctx: ServiceContext) {}

  async createProject(uid: number, input: NewProject, db: Kysely<Database> = this.ctx.database.db): Promise<ProjectRow> {
    const now = this.ctx.now()
    // 56 random bits: a clash is all but impossible, but the unique column decides.
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await db
        .insertInto('projects')
        .values({
          uid,
          model_id: MODEL_ID_PREFIX + randomBytes(7).toString('hex'),
          name: input.name,
          status: 'ACTIVE',
          content: input.content ?? null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('model_id').doNothing())
        .returningAll()
        .executeTakeFirst()
      if (row) return row
    }
    throw new Error('could not find a free model_id')
  }

  /** Adds a profile; the project's update time moves with it. */
  async addProfile(projectId: number, input: NewProfile, db?: Kysely<Database>): Promise<ProfileRow> {
    if (!db) return this.ctx.database.db.transaction().execute((trx) => this.addProfile(projectId, input, trx))
    const now = this.ctx.now()
    const project = await db
      .updateTable('projects')
      .set({ updated_at: now })
      .where('project_id', '=', projectId)
      .returning(['model_id'])
      .executeTakeFirst()
    if (!project) throw new ApiError('notFound', `no project ${projectId}`)
    return db
      .insertInto('project_profiles')
      .values({
        project_id: projectId,
        model_id: project.model_id,
        name: input.name,
        status: 'ACTIVE',
        content: input.content ?? null,
        context: JSON.stringify(input.context),
        filename: input.filename ?? null,
        url: input.url ?? null,
        md5: input.md5 ?? null,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  /** The owner's projects, newest first. */
  async listProjects(uid: number): Promise<ProjectRow[]> {
    return this.ctx.database.db
      .selectFrom('projects')
      .selectAll()
      .where('uid', '=', uid)
      .orderBy('project_id', 'desc')
      .execute()
  }

  /**
   * One of the owner's projects with its profiles. Someone else's and an unknown id get
   * the same `forbidden`: ids are sequential, so telling them apart would reveal others'.
   */
  async projectOf(uid: number, projectId: number): Promise<ProjectDetail> {
    const { db } = this.ctx.database
    const project = await this.ownedProject(uid, projectId)
    const profiles = await db
      .selectFrom('project_profiles')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('profile_id')
      .execute()
    const upload = await db
      .selectFrom('upload_tickets')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('action', '=', 'upload')
      .where('status', '=', 'running')
      .orderBy('created_at', 'desc')
      .executeTakeFirst()
    return { project, profiles, upload: upload ?? null }
  }

  /** One of the owner's projects (no profiles); unknown and foreign ids are both forbidden. */
  async ownedProject(uid: number, projectId: number): Promise<ProjectRow> {
    const project = await this.ctx.database.db
      .selectFrom('projects')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('uid', '=', uid)
      .executeTakeFirst()
    if (!project) throw new ApiError('forbidden')
    return project
  }

  /** A profile of this project, or forbidden (a profile elsewhere is not the caller's to name here). */
  async profileInProject(projectId: number, profileId: number): Promise<ProfileRow> {
    const profile = await this.ctx.database.db
      .selectFrom('project_profiles')
      .selectAll()
      .where('profile_id', '=', profileId)
      .where('project_id', '=', projectId)
      .executeTakeFirst()
    if (!profile) throw new ApiError('forbidden')
    return profile
  }

  async rename(projectId: number, name: string): Promise<void> {
    await this.ctx.database.db.updateTable('projects').set({ name, updated_at: this.ctx.now() }).where('project_id', '=', projectId).execute()
  }

  /** One of the owner's profiles; like projects, unknown and foreign ids look the same. */
  async profileOf(uid: number, profileId: number): Promise<ProfileRow> {
    const profile = await this.ctx.database.db
      .selectFrom('project_profiles')
      .innerJoin('projects', 'projects.project_id', 'project_profiles.project_id')
      .selectAll('project_profiles')
      .where('project_profiles.profile_id', '=', profileId)
      .where('projects.uid', '=', uid)
      .executeTakeFirst()
    if (!profile) throw new ApiError('forbidden')
    return profile
  }

  /** A plate of one of the user's profiles, or null when there is no such plate. */
  async findPlate(uid: number, modelId: string, profileId: number, plateIndex: number): Promise<PlateEstimate | null> {
    const row = await findOwnedProfile(this.ctx.database.db, uid, modelId, profileId)
    if (!row) return null
    const plates = (JSON.parse(row.context) as { plates?: unknown }).plates
    const plate = Array.isArray(plates) ? (plates as Plate[]).find((p) => Number(p?.index) === plateIndex) : undefined
    return plate ? plateEstimate(plate) : null
  }

  /** Opens a ticket for a project's upload (the upload service settles it). */
  async openUpload(
    projectId: number,
    options: { action?: UploadAction; profileId?: number | null; ticket?: string; uploadUrl?: string | null; blobKey?: string | null } = {},
    db: Kysely<Database> = this.ctx.database.db,
  ): Promise<UploadTicketRow> {
    const project = await db.selectFrom('projects').select('uid').where('project_id', '=', projectId).executeTakeFirst()
    if (!project) throw new ApiError('notFound', `no project ${projectId}`)
    const now = this.ctx.now()
    return db
      .insertInto('upload_tickets')
      .values({
        ticket: options.ticket ?? newTicket(),
        uid: project.uid,
        project_id: projectId,
        profile_id: options.profileId ?? null,
        action: options.action ?? 'upload',
        status: 'running',
        upload_url: options.uploadUrl ?? null,
        blob_key: options.blobKey ?? null,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  /** Settles a ticket by hand (tests, admin tools); the upload service does it with the file's facts. */
  async settleUpload(ticket: string, status: Exclude<UploadStatus, 'running'>, error: string | null = null): Promise<void> {
    await this.ctx.database.db
      .updateTable('upload_tickets')
      .set({ status, error, updated_at: this.ctx.now() })
      .where('ticket', '=', ticket)
      .execute()
  }
}

interface Filament {
  id?: unknown
  used_m?: unknown
  used_g?: unknown
}

/** A profile of one of the user's projects, named as tasks name it (model and profile id); undefined when it is not the user's. */
export function findOwnedProfile(db: Kysely<Database>, uid: number, modelId: string, profileId: number) {
  return db
    .selectFrom('project_profiles')
    .innerJoin('projects', 'projects.project_id', 'project_profiles.project_id')
    .select(['project_profiles.project_id', 'project_profiles.context'])
    .where('project_profiles.profile_id', '=', profileId)
    .where('project_profiles.model_id', '=', modelId)
    .where('projects.uid', '=', uid)
    .executeTakeFirst()
}

/** A random upload ticket: 128 bits, hex. */
export function newTicket(): string {
  return randomBytes(16).toString('hex')
}

export interface Plate {
  index?: unknown
  thumbnail?: { url?: unknown } | null
  prediction?: unknown
  weight?: unknown
  filaments?: Filament[]
}

/** The 3MF writes numbers as text (`"4.16"`); anything unreadable counts as 0. */
function number(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number.parseFloat(value) : Number.NaN
  return Number.isFinite(n) ? n : 0
}

/** What a task records of a plate of a profile's context. */
export function plateEstimate(plate: Plate): PlateEstimate {
  const filaments = Array.isArray(plate.filaments) ? plate.filaments : []
  const sum = (pick: (f: Filament) => unknown) => filaments.reduce((total, f) => total + number(pick(f)), 0)
  const weight = plate.weight === undefined || plate.weight === null ? sum((f) => f.used_g) : number(plate.weight)
  return {
    cover: typeof plate.thumbnail?.url === 'string' ? plate.thumbnail.url : null,
    weight,
    costTime: number(plate.prediction),
    // used_m has centimetre precision: whole millimetres lose nothing and drop float noise.
    length: Math.round(sum((f) => f.used_m) * 1000),
    filaments: filaments.map((f) => ({ id: number(f.id), grams: number(f.used_g) })),
  }
}
