/**
 * Claims on signed upload URLs, and the per-user storage quota (USER_STORAGE_QUOTA).
 *
 * A PUT claims its URL before it writes a byte: one row per blob key, so the database
 * refuses a second claim at once, across server processes too. The claim counts against
 * its user's quota at the announced Content-Length. Keeping the file settles the claim
 * (the file's own row counts from then on); a failed write releases it, so the client may
 * try again. Claims and settlements take the user's row lock, so two uploads of one user
 * never both fit into the same free space.
 */
import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { ServiceContext } from '../context.ts'
import type { Database } from '../db/schema.ts'
import { ApiError } from '../errors.ts'

export interface UploadClaim {
  /** The most bytes the body may hold: what the quota leaves, or null when there is no quota. */
  quotaLeft: number | null
  /** Inside the transaction that keeps the file: the quota must hold its real size; the claim goes. */
  settle(trx: Kysely<Database>, size: number): Promise<void>
  /** Gives the URL back after a failed write (nothing once a settlement committed). */
  release(): Promise<void>
}

export interface ClaimRequest {
  key: string
  uid: number
  declaredLength: number | null
  /** Whether the URL already took its file (read inside the claim's transaction). */
  used(trx: Kysely<Database>): Promise<boolean>
}

const urlUsed = () => new ApiError('ticketUsed', 'This upload URL was already used')

export function quotaExceeded(quota: number): ApiError {
  return new ApiError('storageQuotaExceeded', `The file would take this account past its storage quota (USER_STORAGE_QUOTA: ${quota} bytes)`)
}

/** Bytes a user keeps: the project files and print files stored, and uploads under way. */
async function storedBytes(trx: Kysely<Database>, uid: number, exceptKey: string): Promise<number> {
  const sum = (v: string | number | null | undefined) => Number(v ?? 0)
  const uploads = await trx
    .selectFrom('upload_tickets')
    .select((eb) => eb.fn.sum<string | number | null>('size').as('bytes'))
    .where('uid', '=', uid)
    .where('uploaded_at', 'is not', null)
    .where('status', '!=', 'failed')
    .executeTakeFirst()
  const prints = await trx
    .selectFrom('print_files')
    .innerJoin('projects', 'projects.project_id', 'print_files.project_id')
    .select((eb) => eb.fn.sum<string | number | null>('print_files.size').as('bytes'))
    .where('projects.uid', '=', uid)
    .executeTakeFirst()
  const claims = await trx
    .selectFrom('upload_claims')
    .select((eb) => eb.fn.sum<string | number | null>('bytes').as('bytes'))
    .where('uid', '=', uid)
    .where('blob_key', '!=', exceptKey)
    .executeTakeFirst()
  return sum(uploads?.bytes) + sum(prints?.bytes) + sum(claims?.bytes)
}

/** Serialises the quota decisions of one user (SQLite writes one transaction at a time anyway). */
async function lockUser(ctx: ServiceContext, trx: Kysely<Database>, uid: number): Promise<void> {
  if (ctx.database.dialect === 'postgres') await trx.selectFrom('users').select('uid').where('uid', '=', uid).forUpdate().execute()
}

/** Claims the URL of `key` for one PUT: 409 when it is taken or used, 413 when the announced length does not fit. */
export async function claimUpload(ctx: ServiceContext, request: ClaimRequest): Promise<UploadClaim> {
  const { key, uid, declaredLength } = request
  const quota = ctx.config.userStorageQuota
  const { db } = ctx.database
  const claimId = randomBytes(12).toString('hex')
  const quotaLeft = await db.transaction().execute(async (trx) => {
    await lockUser(ctx, trx, uid)
    if (await request.used(trx)) throw urlUsed()
    const left = quota === null ? null : Math.max(0, quota - (await storedBytes(trx, uid, key)))
    if (left !== null && declaredLength !== null && declaredLength > left) throw quotaExceeded(quota!)
    const claimed = await trx
      .insertInto('upload_claims')
      .values({ blob_key: key, claim_id: claimId, uid, bytes: declaredLength ?? 0, created_at: ctx.now() })
      .onConflict((oc) => oc.column('blob_key').doNothing())
      .returning('blob_key')
      .executeTakeFirst()
    if (!claimed) throw urlUsed()
    return left
  })
  return {
    quotaLeft,
    async settle(trx, size) {
      await lockUser(ctx, trx, uid)
      if (quota !== null && (await storedBytes(trx, uid, key)) + size > quota) throw quotaExceeded(quota)
      await trx.deleteFrom('upload_claims').where('blob_key', '=', key).where('claim_id', '=', claimId).execute()
    },
    async release() {
      await db.deleteFrom('upload_claims').where('blob_key', '=', key).where('claim_id', '=', claimId).execute()
    },
  }
}

/** Removes claims older than `beforeMs`: writes a crash cut off, which would hold their URL forever. */
export async function sweepClaims(db: Kysely<Database>, beforeMs: number): Promise<number> {
  const removed = await db.deleteFrom('upload_claims').where('created_at', '<', beforeMs).executeTakeFirst()
  return Number(removed.numDeletedRows)
}
