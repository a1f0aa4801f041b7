/**
 * Checking a `print.project_file` request the way a printer does before it starts: the
 * plate named in `param`, the file behind `url` (the printer's own storage for `ftp://`,
 * a download for `http(s)://`) and its md5. A sliced 3MF's prediction for that plate
 * becomes the print's duration when it can be read; anything else gets the default.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import type { DeviceCommand } from '@bambu-cloud/protocol'
import { readThreeMf } from '../lib/three-mf.ts'
import type { RandomAccessFile } from '../lib/zip-reader.ts'
import { PRINT_ERRORS } from './print-report.ts'
import type { PrintJob } from './printer-state.ts'

export interface StoredProjectFile {
  diskPath: string
  md5: string
}

export interface ProjectFileContext {
  /** Files uploaded over FTPS, by their path from the storage root (`/name.3mf`). */
  storage: ReadonlyMap<string, StoredProjectFile>
  prepareSeconds: number
  /** Used when the file carries no prediction for the plate. */
  printSeconds: number
  maxDownloadBytes: number
  signal: AbortSignal
}

export type JobIds = Pick<PrintJob, 'task_id' | 'subtask_id' | 'project_id' | 'profile_id' | 'subtask_name' | 'gcode_file' | 'print_type'>

export type ProjectFileCheck =
  | { ok: true; job: PrintJob }
  /** `printError` set: the print was accepted far enough to fail (FAILED); unset: refused outright. */
  | { ok: false; reason: string; printError?: number; ids?: JobIds }

/** Downloads at most this much into memory to read a prediction; larger files are only hashed. */
const PREDICTION_BUFFER_LIMIT = 64 * 1024 * 1024
const DOWNLOAD_TIMEOUT_MS = 120_000

/** The plate number of `Metadata/plate_<N>.gcode`, or null. */
export function plateOf(param: unknown): number | null {
  const match = typeof param === 'string' ? /^Metadata\/plate_(\d{1,3})\.gcode$/.exec(param) : null
  const plate = match ? Number(match[1]) : 0
  return plate >= 1 ? plate : null
}

export async function checkProjectFile(request: DeviceCommand, context: ProjectFileContext): Promise<ProjectFileCheck> {
  const plate = plateOf(request.param)
  if (plate === null) return { ok: false, reason: 'param must name a plate, like Metadata/plate_1.gcode' }
  const url = typeof request.url === 'string' ? request.url : ''
  const local = url.startsWith('ftp://')
  if (!local && !/^https?:\/\//.test(url)) return { ok: false, reason: 'url must be ftp://, http:// or https://' }

  const ids: JobIds = {
    task_id: idOf(request.task_id),
    subtask_id: idOf(request.subtask_id),
    project_id: idOf(request.project_id),
    profile_id: idOf(request.profile_id),
    subtask_name: typeof request.subtask_name === 'string' ? request.subtask_name : '',
    gcode_file: fileNameOf(url),
    print_type: local ? 'local' : 'cloud',
  }
  const fetched = local ? await readStored(url, context) : await download(url, context)
  if ('reason' in fetched) return { ok: false, ids, ...fetched }
  const expected = typeof request.md5 === 'string' ? request.md5.trim().toLowerCase() : ''
  if (expected !== '' && expected !== fetched.md5) {
    return { ok: false, ids, reason: 'md5 does not match the file', printError: PRINT_ERRORS.fileMismatch }
  }
  const predicted = fetched.open ? await predictionOf(fetched.open, plate) : null
  const printSeconds = predicted ?? context.printSeconds
  return {
    ok: true,
    job: {
      ...ids,
      prepareSeconds: context.prepareSeconds,
      printSeconds,
      // About one layer per 45 s of printing: plausible numbers for a progress display.
      totalLayers: Math.max(10, Math.round(printSeconds / 45)),
    },
  }
}

interface Fetched {
  md5: string
  /** The bytes to read a prediction from, when on disk or small enough to have been kept. */
  open: (() => Promise<RandomAccessFile>) | null
}
type FetchFailure = { reason: string; printError: number }

/** Ids travel as strings; local prints send "0". */
function idOf(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return '0'
}

function fileNameOf(url: string): string {
  const pathname = url.replace(/^[a-z]+:\/\/[^/]*/i, '').replace(/[?#].*$/, '')
  try {
    return decodeURIComponent(path.posix.basename(pathname))
  } catch {
    return path.posix.basename(pathname)
  }
}

/** `ftp:///name.3mf` and `ftp:///cache/name.3mf` name files in the printer's storage. */
async function readStored(url: string, context: ProjectFileContext): Promise<Fetched | FetchFailure> {
  let ftpPath = url.slice('ftp://'.length)
  try {
    ftpPath = path.posix.resolve('/', decodeURIComponent(ftpPath))
  } catch {
    return { reason: 'file not found on the printer', printError: PRINT_ERRORS.fileNotFound }
  }
  const stored = context.storage.get(ftpPath)
  if (!stored) return { reason: 'file not found on the printer', printError: PRINT_ERRORS.fileNotFound }
  return { md5: stored.md5, open: () => openDiskFile(stored.diskPath) }
}

async function download(url: string, context: ProjectFileContext): Promise<Fetched | FetchFailure> {
  const failed = (why: string): FetchFailure => ({ reason: `download failed: ${why}`, printError: PRINT_ERRORS.downloadFailed })
  try {
    const response = await fetch(url, { signal: AbortSignal.any([context.signal, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)]) })
    if (!response.ok || !response.body) return failed(`HTTP ${response.status}`)
    const md5 = createHash('md5')
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      size += chunk.length
      if (size > context.maxDownloadBytes) return failed('file too large')
      md5.update(chunk)
      if (size <= PREDICTION_BUFFER_LIMIT) chunks.push(Buffer.from(chunk))
    }
    const kept = size <= PREDICTION_BUFFER_LIMIT ? Buffer.concat(chunks) : null
    return { md5: md5.digest('hex'), open: kept ? async () => bufferFile(kept) : null }
  } catch (err) {
    return failed(err instanceof Error ? err.message : String(err))
  }
}

/** The slicer's predicted seconds for the plate, or null for a file that is not a sliced 3MF. */
async function predictionOf(open: () => Promise<RandomAccessFile>, plate: number): Promise<number | null> {
  let file: RandomAccessFile | null = null
  try {
    file = await open()
    const facts = await readThreeMf(file)
    const seconds = facts.plates.find((p) => p.index === plate)?.prediction ?? 0
    return seconds > 0 ? seconds : null
  } catch {
    return null
  } finally {
    await file?.close()
  }
}

function bufferFile(buf: Buffer): RandomAccessFile {
  return {
    size: buf.length,
    read: async (position, length) => buf.subarray(position, position + length),
    stream: (start, end) => Readable.from([buf.subarray(start, end)]),
    close: async () => {},
  }
}

async function openDiskFile(diskPath: string): Promise<RandomAccessFile> {
  const handle = await fs.open(diskPath, 'r')
  const { size } = await handle.stat()
  return {
    size,
    async read(position, length) {
      const buf = Buffer.alloc(Math.max(0, Math.min(length, size - position)))
      let filled = 0
      while (filled < buf.length) {
        const { bytesRead } = await handle.read(buf, filled, buf.length - filled, position + filled)
        if (bytesRead === 0) break
        filled += bytesRead
      }
      return buf.subarray(0, filled)
    },
    stream: (start, end) => (end <= start ? Readable.from([]) : createReadStream(diskPath, { start, end: end - 1 })),
    close: () => handle.close(),
  }
}
