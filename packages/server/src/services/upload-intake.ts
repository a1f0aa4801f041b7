/**
 * Taking an uploaded file in: stream it to staging within MAX_UPLOAD_BYTES and the
 * user's storage quota (the caller holds the URL's claim), look inside
 * (only the zip directory: no inflating on the request path), and only then keep it.
 * A refused file never reaches its key; `onRefused` lets the caller record why.
 */
import type { Readable } from 'node:stream'
import type { Kysely } from 'kysely'
import type { Config } from '../config.ts'
import type { Database } from '../db/schema.ts'
import { ApiError } from '../errors.ts'
import { ThreeMfError } from '../lib/three-mf.ts'
import type { RandomAccessFile } from '../lib/zip-reader.ts'
import { BlobTooLargeError, type BlobStore, type StagedBlob } from '../storage/blob-store.ts'
import { quotaExceeded, type UploadClaim } from './upload-claims.ts'

export type OnRefused = (message: string) => Promise<void>

/**
 * Streams a request body into staging; 413 (after `onRefused`) when it is too large, and
 * 413 (code 1020) when it outgrows what the user's quota left (the URL stays usable).
 */
export async function stageUpload(
  blobs: BlobStore,
  config: Config,
  body: Readable,
  declaredLength: number | null,
  onRefused: OnRefused,
  claim: UploadClaim,
): Promise<StagedBlob> {
  const max = config.maxUploadBytes
  const tooLarge = async () => {
    const message = `The file is larger than this server accepts (MAX_UPLOAD_BYTES: ${max} bytes)`
    await onRefused(message)
    return new ApiError('payloadTooLarge', message)
  }
  // A Content-Length over the limit is refused before a byte is read.
  if (declaredLength !== null && declaredLength > max) throw await tooLarge()
  const left = claim.quotaLeft
  try {
    return await blobs.stage(body, { maxBytes: left === null ? max : Math.min(max, left) })
  } catch (err) {
    if (err instanceof BlobTooLargeError) throw err.limit < max ? quotaExceeded(config.userStorageQuota!) : await tooLarge()
    throw err
  }
}

/** Runs `look` on the staged bytes; a refused 3MF discards them and answers 422. */
export async function inspectStaged<T>(staged: StagedBlob, look: (file: RandomAccessFile) => Promise<T>, onRefused: OnRefused): Promise<T> {
  const file = await staged.open()
  try {
    return await look(file)
  } catch (err) {
    await staged.discard()
    if (!(err instanceof ThreeMfError)) throw err
    const message = `Wrong file format: ${err.message}`
    await onRefused(message)
    throw new ApiError('uploadFailed', message)
  } finally {
    await file.close()
  }
}

/**
 * Keeps a staged upload under `key`: `record` writes its row in the transaction that settles
 * the claim, then the file is renamed into place; when that fails, `unrecord` takes the row
 * back. A failed record discards the staged bytes. (The caller releases the claim on any failure.)
 */
export async function keepStaged<T>(
  db: Kysely<Database>,
  claim: UploadClaim,
  staged: StagedBlob,
  key: string,
  record: (trx: Kysely<Database>) => Promise<T>,
  unrecord: (recorded: T) => Promise<unknown>,
): Promise<{ size: number; md5: string }> {
  let recorded: T
  try {
    recorded = await db.transaction().execute(async (trx) => {
      await claim.settle(trx, staged.size)
      return record(trx)
    })
  } catch (err) {
    await staged.discard()
    throw err
  }
  try {
    await staged.commit(key)
  } catch (err) {
    await unrecord(recorded)
    throw err
  }
  return { size: staged.size, md5: staged.md5 }
}
