/**
 * Serving stored files through their signed links: a whole blob (the project's 3MF), or
 * one entry inside a stored 3MF (a thumbnail, a config, the G-code), inflated as it
 * streams and held to its size, ratio and CRC.
 */
import type { Readable } from 'node:stream'
import { ApiError } from '../errors.ts'
import { GCODE_LIMITS } from '../lib/three-mf.ts'
import { ENTRY_LIMITS, openEntry, readZipDirectory, ZipError } from '../lib/zip-reader.ts'
import type { BlobStore } from '../storage/blob-store.ts'
import { keyOf, type FileLinks } from './file-links.ts'

const FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/

export interface Download {
  stream: Readable
  size: number
  /** The file's name, for its Content-Type. */
  name: string
}

export class FileService {
  constructor(
    private readonly links: FileLinks,
    private readonly blobs: BlobStore,
  ) {}

  /** The path must carry a valid signature for the method: 403 code 1013, or 1014 once expired. */
  async checkSignature(method: 'GET' | 'PUT', path: string, query: { expires?: unknown; sig?: unknown }): Promise<void> {
    const verdict = (await this.links.signer()).verify(method, path, query)
    if (verdict === 'mismatch') throw new ApiError('signatureMismatch')
    if (verdict === 'expired') throw new ApiError('urlExpired')
  }

  /** `/files/<project>/<file>[/<entry>]`; 404 when the file (or entry) is not there. */
  async open(projectId: string, file: string, entry?: string): Promise<Download> {
    if (!/^\d{1,16}$/.test(projectId) || !FILE.test(file)) throw new ApiError('notFound', 'No such file')
    const stored = await this.blobs.open(keyOf(projectId, file))
    if (!stored) throw new ApiError('notFound', 'No such file')
    try {
      if (entry === undefined) return { stream: stored.stream(0, stored.size), size: stored.size, name: file }
      const found = (await readZipDirectory(stored)).get(entry)
      if (!found) throw new ApiError('notFound', 'No such file')
      const stream = await openEntry(stored, found, entry.endsWith('.gcode') ? GCODE_LIMITS : ENTRY_LIMITS)
      return { stream, size: found.uncompressedSize, name: entry }
    } catch (err) {
      if (err instanceof ZipError) throw new ApiError('uploadFailed', err.message)
      throw err
    } finally {
      // Waits for the stream handed out, if any, to finish.
      void stored.close()
    }
  }
}
