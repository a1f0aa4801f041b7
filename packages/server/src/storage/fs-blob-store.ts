/**
 * The blob store on a local filesystem: `<root>/<key>`, staged in `<root>/.staging`
 * (same filesystem, so committing is a rename). Files and directories are private to the
 * server (0600, 0700).
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, read as readFd } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { finished, Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { RandomAccessFile } from '../lib/zip-reader.ts'
import { assertKey, BlobTooLargeError, type BlobInfo, type BlobStore, type StagedBlob, type StoredBlob } from './blob-store.ts'

const STAGING = '.staging'

/** Counts and hashes the bytes going through; fails past the limit. */
class Meter extends Transform {
  size = 0
  private readonly hash = createHash('md5')
  constructor(private readonly maxBytes: number) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    this.size += chunk.length
    if (this.size > this.maxBytes) return done(new BlobTooLargeError(this.maxBytes))
    this.hash.update(chunk)
    done(null, chunk)
  }
  digest(): string {
    return this.hash.digest('hex')
  }
}

/**
 * Positional reads on one descriptor. Streams share it (without closing it); `close`
 * waits until every stream handed out has closed, so none reads a closed descriptor.
 */
async function openFile(file: string): Promise<RandomAccessFile | null> {
  let handle: fs.FileHandle
  try {
    handle = await fs.open(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  const { size } = await handle.stat()
  const streams = new Set<Readable>()
  let release: (() => void) | undefined
  let closed: Promise<void> | undefined
  return {
    size,
    async read(position, length) {
      const buf = Buffer.alloc(length)
      let filled = 0
      while (filled < length) {
        const { bytesRead } = await handle.read(buf, filled, length - filled, position + filled)
        if (bytesRead === 0) break
        filled += bytesRead
      }
      return buf.subarray(0, filled)
    },
    stream(start, end) {
      if (closed) throw new Error('file already closed')
      if (end <= start) return Readable.from([])
      // A stream destroyed early closes its descriptor even with autoClose off: give it a close that does not.
      const shared = { read: readFd, close: (_fd: number, done: (err?: NodeJS.ErrnoException | null) => void) => done(null) }
      const stream = createReadStream('', { fd: handle.fd, start, end: end - 1, autoClose: false, fs: shared })
      streams.add(stream)
      // Not 'close': a stream that does not own its descriptor ends without closing.
      finished(stream, () => {
        streams.delete(stream)
        if (streams.size === 0) release?.()
      })
      return stream
    },
    close() {
      closed ??= (async () => {
        if (streams.size > 0) await new Promise<void>((resolve) => (release = resolve))
        await handle.close()
      })()
      return closed
    },
  }
}

export class FsBlobStore implements BlobStore {
  private readonly staging: string

  constructor(private readonly root: string) {
    this.staging = path.join(root, STAGING)
  }

  private pathOf(key: string): string {
    assertKey(key)
    return path.join(this.root, key)
  }

  async stage(body: Readable, options: { maxBytes: number }): Promise<StagedBlob> {
    await fs.mkdir(this.staging, { recursive: true, mode: 0o700 })
    const temp = path.join(this.staging, randomBytes(12).toString('hex'))
    const meter = new Meter(options.maxBytes)
    try {
      // flush: fsync before close, so a committed blob survives a crash.
      await pipeline(body, meter, createWriteStream(temp, { flags: 'wx', mode: 0o600, flush: true }))
    } catch (err) {
      await fs.rm(temp, { force: true })
      throw err
    }
    const info = { size: meter.size, md5: meter.digest() }
    let settled = false
    const settle = () => {
      if (settled) throw new Error('staged blob already committed or discarded')
      settled = true
    }
    return {
      ...info,
      open: async () => (await openFile(temp))!,
      commit: async (key) => {
        settle()
        const target = this.pathOf(key)
        try {
          await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 })
          await fs.rename(temp, target)
        } catch (err) {
          await fs.rm(temp, { force: true })
          throw err
        }
      },
      discard: async () => {
        settle()
        await fs.rm(temp, { force: true })
      },
    }
  }

  async put(key: string, body: Readable, options: { maxBytes: number }): Promise<BlobInfo> {
    const staged = await this.stage(body, options)
    await staged.commit(key)
    return { size: staged.size, md5: staged.md5 }
  }

  open(key: string): Promise<RandomAccessFile | null> {
    return openFile(this.pathOf(key))
  }

  async stat(key: string): Promise<StoredBlob | null> {
    try {
      const s = await fs.stat(this.pathOf(key))
      return s.isFile() ? { key, size: s.size, modifiedMs: s.mtimeMs } : null
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key)
    await fs.rm(file, { force: true })
    // Directories left empty go too, up to the root.
    for (let dir = path.dirname(file); dir.startsWith(this.root + path.sep); dir = path.dirname(dir)) {
      try {
        await fs.rmdir(dir)
      } catch {
        break
      }
    }
  }

  async *list(): AsyncIterable<StoredBlob> {
    const walk = async function* (root: string, dir: string): AsyncGenerator<StoredBlob> {
      let names: import('node:fs').Dirent[]
      try {
        names = await fs.readdir(dir, { withFileTypes: true })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
        throw err
      }
      for (const d of names) {
        if (d.name.startsWith('.')) continue
        const full = path.join(dir, d.name)
        if (d.isDirectory()) yield* walk(root, full)
        else if (d.isFile()) {
          const s = await fs.stat(full).catch(() => null)
          if (s) yield { key: path.relative(root, full).split(path.sep).join('/'), size: s.size, modifiedMs: s.mtimeMs }
        }
      }
    }
    yield* walk(this.root, this.root)
  }

  async sweepStaging(beforeMs: number): Promise<number> {
    let removed = 0
    const names = await fs.readdir(this.staging).catch(() => [] as string[])
    for (const name of names) {
      const file = path.join(this.staging, name)
      const s = await fs.stat(file).catch(() => null)
      if (s && s.mtimeMs < beforeMs) {
        await fs.rm(file, { force: true })
        removed++
      }
    }
    return removed
  }
}
