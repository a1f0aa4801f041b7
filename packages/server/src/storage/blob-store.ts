/**
 * Where uploaded files live. A key names one immutable blob (`projects/12/upload-ab.3mf`);
 * writes stream into a staging area and appear under their key only once complete
 * (rename), so a reader never sees half a file. The filesystem store is the only one
 * today; an object store would implement the same interface.
 */
import type { Readable } from 'node:stream'
import type { RandomAccessFile } from '../lib/zip-reader.ts'

export interface BlobInfo {
  size: number
  /** Hex MD5 of the bytes, computed while they streamed in. */
  md5: string
}

/** A complete upload not yet under its key. Exactly one of commit or discard must follow. */
export interface StagedBlob extends BlobInfo {
  /** Reads the staged bytes (to look inside before keeping them). */
  open(): Promise<RandomAccessFile>
  /** Puts the blob under `key` atomically. */
  commit(key: string): Promise<void>
  discard(): Promise<void>
}

export interface StoredBlob {
  key: string
  size: number
  modifiedMs: number
}

/** The body went past `maxBytes`; nothing was kept. */
export class BlobTooLargeError extends Error {
  override readonly name = 'BlobTooLargeError'
  constructor(readonly limit: number) {
    super(`larger than ${limit} bytes`)
  }
}

export interface BlobStore {
  /** Streams `body` into staging, computing size and MD5; BlobTooLargeError past `maxBytes`. */
  stage(body: Readable, options: { maxBytes: number }): Promise<StagedBlob>
  /** stage + commit. */
  put(key: string, body: Readable, options: { maxBytes: number }): Promise<BlobInfo>
  /** Random access to a blob, or null when there is none under the key. */
  open(key: string): Promise<RandomAccessFile | null>
  stat(key: string): Promise<StoredBlob | null>
  /** Removes a blob; a missing one is fine. */
  delete(key: string): Promise<void>
  /** Every blob, in no particular order. */
  list(): AsyncIterable<StoredBlob>
  /** Removes staging leftovers (uploads cut off by a crash) last written before `beforeMs`. */
  sweepStaging(beforeMs: number): Promise<number>
}

const KEY = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$/

/** Keys are relative paths of plain segments: no `..`, no dot files, no empty segments. */
export function assertKey(key: string): void {
  if (key.length > 512 || !KEY.test(key)) throw new Error(`invalid blob key: ${JSON.stringify(key)}`)
}
