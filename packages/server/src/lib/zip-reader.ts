/**
 * A small zip reader for uploaded 3MF files: the central directory, then single entries
 * inflated on demand through node:zlib. Nothing is inflated unless asked for, and every
 * entry read is held to its declared size, a size limit, a compression-ratio bound and
 * its CRC, so a zip bomb costs a few reads, never memory or disk.
 */
import { pipeline as streamPipeline, Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { crc32, createInflateRaw } from 'node:zlib'

/** Positional reads of one stored file: what the reader needs from storage. */
export interface RandomAccessFile {
  readonly size: number
  read(position: number, length: number): Promise<Buffer>
  /** The bytes [start, end). */
  stream(start: number, end: number): Readable
  close(): Promise<void>
}

/** A file that is not a zip we accept; the message is fit to show the uploader. */
export class ZipError extends Error {
  override readonly name = 'ZipError'
}

export interface ZipEntry {
  name: string
  method: number
  flags: number
  crc32: number
  compressedSize: number
  uncompressedSize: number
  localHeaderOffset: number
}

export interface DirectoryLimits {
  maxEntries: number
  maxDirectoryBytes: number
}

export interface EntryLimits {
  /** Largest uncompressed size read. */
  maxBytes: number
  /** Largest uncompressed : compressed ratio ... */
  maxRatio: number
  /** ... for entries bigger than this (tiny entries compress well legitimately). */
  ratioAbove: number
}

const MiB = 1024 * 1024
export const DIRECTORY_LIMITS: DirectoryLimits = { maxEntries: 10_000, maxDirectoryBytes: 16 * MiB }
export const ENTRY_LIMITS: EntryLimits = { maxBytes: 16 * MiB, maxRatio: 100, ratioAbove: MiB }

const EOCD = 0x06054b50
const ZIP64_LOCATOR = 0x07064b50
const ZIP64_EOCD = 0x06064b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50
const U16 = 0xffff
const U32 = 0xffffffff

function u64(buf: Buffer, at: number): number {
  const n = buf.readBigUInt64LE(at)
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError('The zip archive is damaged (an offset is out of range)')
  return Number(n)
}

async function readExact(file: RandomAccessFile, position: number, length: number): Promise<Buffer> {
  if (position < 0 || length < 0 || position + length > file.size) throw new ZipError('The zip archive is damaged (it is cut short)')
  const buf = await file.read(position, length)
  if (buf.length !== length) throw new ZipError('The zip archive is damaged (it is cut short)')
  return buf
}

/** Where the central directory is, from the end-of-central-directory record(s). */
async function locateDirectory(file: RandomAccessFile, limits: DirectoryLimits) {
  const notZip = () => new ZipError('The file is not a 3MF (zip) archive')
  if (file.size < 22) throw notZip()
  const tailLength = Math.min(file.size, 22 + 0xffff)
  const tail = await readExact(file, file.size - tailLength, tailLength)
  let at = -1
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) {
      at = i
      break
    }
  }
  if (at < 0) throw notZip()
  const eocdPosition = file.size - tailLength + at
  if (tail.readUInt16LE(at + 4) !== 0 || tail.readUInt16LE(at + 6) !== 0) throw new ZipError('Multi-part zip archives are not supported')
  let entries = tail.readUInt16LE(at + 10)
  let size = tail.readUInt32LE(at + 12)
  let offset = tail.readUInt32LE(at + 16)
  let directoryEnd = eocdPosition
  if (eocdPosition >= 20) {
    const locator = await readExact(file, eocdPosition - 20, 20)
    if (locator.readUInt32LE(0) === ZIP64_LOCATOR) {
      const recordAt = u64(locator, 8)
      const record = await readExact(file, recordAt, 56)
      if (record.readUInt32LE(0) !== ZIP64_EOCD) throw new ZipError('The zip archive is damaged (bad zip64 record)')
      entries = u64(record, 32)
      size = u64(record, 40)
      offset = u64(record, 48)
      directoryEnd = recordAt
    }
  }
  if (entries === U16 || size === U32 || offset === U32) throw new ZipError('The zip archive is damaged (zip64 record missing)')
  if (entries > limits.maxEntries) throw new ZipError(`The archive has more than ${limits.maxEntries} entries`)
  if (size > limits.maxDirectoryBytes) throw new ZipError('The archive’s directory is too large')
  if (offset + size > directoryEnd) throw new ZipError('The zip archive is damaged (directory out of place)')
  return { entries, size, offset }
}

/** Sizes and offset of a central record, taking the zip64 extra field where they overflow. */
function zip64Values(extra: Buffer, record: { usize: number; csize: number; offset: number }) {
  const out = { ...record }
  for (let i = 0; i + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(i)
    const length = extra.readUInt16LE(i + 2)
    if (id === 0x0001) {
      let p = i + 4
      const end = p + length
      const next = () => {
        if (p + 8 > end || p + 8 > extra.length) throw new ZipError('The zip archive is damaged (bad zip64 field)')
        const v = u64(extra, p)
        p += 8
        return v
      }
      if (out.usize === U32) out.usize = next()
      if (out.csize === U32) out.csize = next()
      if (out.offset === U32) out.offset = next()
      return out
    }
    i += 4 + length
  }
  return out
}

/** Reads the central directory: every entry by name (nothing is inflated). */
export async function readZipDirectory(file: RandomAccessFile, limits: DirectoryLimits = DIRECTORY_LIMITS): Promise<Map<string, ZipEntry>> {
  const { entries, size, offset } = await locateDirectory(file, limits)
  const dir = await readExact(file, offset, size)
  const out = new Map<string, ZipEntry>()
  let p = 0
  for (let n = 0; n < entries; n++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL) throw new ZipError('The zip archive is damaged (bad directory record)')
    const flags = dir.readUInt16LE(p + 8)
    const nameLength = dir.readUInt16LE(p + 28)
    const extraLength = dir.readUInt16LE(p + 30)
    const commentLength = dir.readUInt16LE(p + 32)
    const next = p + 46 + nameLength + extraLength + commentLength
    if (next > dir.length) throw new ZipError('The zip archive is damaged (bad directory record)')
    const rawName = dir.subarray(p + 46, p + 46 + nameLength)
    // Bit 11: UTF-8 names; others are CP437, read as Latin-1 (3MF names are ASCII anyway).
    const name = rawName.toString(flags & 0x800 ? 'utf8' : 'latin1')
    const values = zip64Values(dir.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength), {
      usize: dir.readUInt32LE(p + 24),
      csize: dir.readUInt32LE(p + 20),
      offset: dir.readUInt32LE(p + 42),
    })
    if (out.has(name)) throw new ZipError(`The archive holds ${name} twice`)
    if (values.offset + 30 + values.csize > offset) throw new ZipError(`The zip archive is damaged (${name} out of place)`)
    out.set(name, {
      name,
      method: dir.readUInt16LE(p + 10),
      flags,
      crc32: dir.readUInt32LE(p + 16),
      compressedSize: values.csize,
      uncompressedSize: values.usize,
      localHeaderOffset: values.offset,
    })
    p = next
  }
  return out
}

function checkRatio(entry: ZipEntry, limits: EntryLimits): void {
  if (entry.uncompressedSize > limits.ratioAbove && entry.uncompressedSize > entry.compressedSize * limits.maxRatio) {
    throw new ZipError(`${entry.name} is compressed more than ${limits.maxRatio}:1, which only zip bombs do`)
  }
}

/**
 * Refuses an archive with any entry compressed past the ratio bound, by the sizes its
 * directory declares, whether or not the entry is ever read: a bomb is not kept to wait
 * for a reader. (G-code compresses about 5-10:1, PNGs and meshes far less.)
 */
export function checkRatios(entries: Iterable<ZipEntry>, limits: EntryLimits = ENTRY_LIMITS): void {
  for (const entry of entries) checkRatio(entry, limits)
}

/** Refuses an entry before reading it: too big, suspiciously compressed, encrypted or exotic. */
export function checkEntry(entry: ZipEntry, limits: EntryLimits = ENTRY_LIMITS): void {
  if (entry.flags & 0x1) throw new ZipError(`${entry.name} is encrypted`)
  if (entry.method !== 0 && entry.method !== 8) throw new ZipError(`${entry.name} uses an unsupported compression method (${entry.method})`)
  if (entry.uncompressedSize > limits.maxBytes) {
    throw new ZipError(`${entry.name} is too large (${entry.uncompressedSize} bytes uncompressed; at most ${limits.maxBytes})`)
  }
  checkRatio(entry, limits)
  if (entry.method === 0 && entry.compressedSize !== entry.uncompressedSize) throw new ZipError(`${entry.name} is damaged (stored sizes differ)`)
}

/** Holds inflated bytes to the entry's declared size and CRC. */
class EntryCheck extends Transform {
  private seen = 0
  private crc = 0
  constructor(private readonly entry: ZipEntry) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    this.seen += chunk.length
    if (this.seen > this.entry.uncompressedSize) return done(new ZipError(`${this.entry.name} is larger than the archive says`))
    this.crc = crc32(chunk, this.crc)
    done(null, chunk)
  }
  override _flush(done: TransformCallback) {
    if (this.seen !== this.entry.uncompressedSize) return done(new ZipError(`${this.entry.name} is damaged (size differs from the archive’s)`))
    if (this.crc !== this.entry.crc32) return done(new ZipError(`${this.entry.name} is damaged (checksum mismatch)`))
    done()
  }
  // Whatever failed upstream (zlib's bad data, say) reaches the reader as a ZipError.
  override _destroy(err: Error | null, done: (err: Error | null) => void) {
    done(err ? asZipError(err, this.entry) : null)
  }
}

/** The entry's bytes, inflated and checked as they stream; refused up front when over the limits. */
export async function openEntry(file: RandomAccessFile, entry: ZipEntry, limits: EntryLimits = ENTRY_LIMITS): Promise<Readable> {
  checkEntry(entry, limits)
  const header = await readExact(file, entry.localHeaderOffset, 30)
  if (header.readUInt32LE(0) !== LOCAL) throw new ZipError(`The zip archive is damaged (bad header for ${entry.name})`)
  const start = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28)
  const end = start + entry.compressedSize
  if (end > file.size) throw new ZipError(`The zip archive is damaged (${entry.name} is cut short)`)
  const raw = entry.compressedSize === 0 ? Readable.from([]) : file.stream(start, end)
  const check = new EntryCheck(entry)
  // pipeline tears every stage down when one fails or the reader goes away.
  const done = () => {}
  if (entry.method === 8) streamPipeline(raw, createInflateRaw(), check, done)
  else streamPipeline(raw, check, done)
  return check
}

function asZipError(err: unknown, entry: ZipEntry): Error {
  if (err instanceof ZipError) return err
  // zlib's errors (bad data, truncated input) mean a damaged entry; I/O errors stay as they are.
  const code = (err as { code?: string }).code ?? ''
  return code.startsWith('Z_') ? new ZipError(`${entry.name} is damaged (${code})`) : (err as Error)
}

/** The whole entry in memory (metadata only: bounded by `limits.maxBytes`). */
export async function readEntry(file: RandomAccessFile, entry: ZipEntry, limits: EntryLimits = ENTRY_LIMITS): Promise<Buffer> {
  const stream = await openEntry(file, entry, limits)
  const chunks: Buffer[] = []
  await pipeline(stream, async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) chunks.push(chunk)
  })
  return Buffer.concat(chunks)
}

/** Inflates and checks an entry without keeping it (a thumbnail's validity). Returns its first bytes. */
export async function verifyEntry(file: RandomAccessFile, entry: ZipEntry, limits: EntryLimits = ENTRY_LIMITS, keep = 16): Promise<Buffer> {
  const stream = await openEntry(file, entry, limits)
  let head = Buffer.alloc(0)
  await pipeline(stream, async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) if (head.length < keep) head = Buffer.concat([head, chunk.subarray(0, keep - head.length)])
  })
  return head
}
