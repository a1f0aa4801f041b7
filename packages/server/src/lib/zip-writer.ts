/**
 * A small zip writer (node:zlib's deflateRaw and crc32) for the 3MF files the project
 * builds itself: sample projects and test fixtures. It can lie in the central directory
 * and write zip64 records, so tests can build the damaged and hostile archives the server
 * must refuse.
 */
import { crc32, deflateRawSync } from 'node:zlib'

export interface ZipInput {
  name: string
  data: Buffer | string
  /** Default `deflate`. */
  method?: 'deflate' | 'store'
  /** Values written in place of the true ones (both headers), to build liars. */
  claim?: { uncompressedSize?: number; crc32?: number; flags?: number; method?: number }
}

export interface ZipOptions {
  /** Writes the zip64 end records and sizes in zip64 extra fields. */
  zip64?: boolean
}

const U32 = 0xffffffff

export function writeZip(inputs: ZipInput[], options: ZipOptions = {}): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const input of inputs) {
    const raw = typeof input.data === 'string' ? Buffer.from(input.data, 'utf8') : input.data
    const stored = input.method === 'store'
    const body = stored ? raw : deflateRawSync(raw)
    const name = Buffer.from(input.name, 'utf8')
    const method = input.claim?.method ?? (stored ? 0 : 8)
    const flags = input.claim?.flags ?? 0x0800
    const crc = input.claim?.crc32 ?? crc32(raw)
    const usize = input.claim?.uncompressedSize ?? raw.length

    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(flags, 6)
    local.writeUInt16LE(method, 8)
    local.writeUInt32LE(0x21, 10) // 1980-01-01 00:00
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(body.length, 18)
    local.writeUInt32LE(usize, 22)
    local.writeUInt16LE(name.length, 26)
    local.writeUInt16LE(0, 28)
    locals.push(local, name, body)

    const extra = options.zip64 ? Buffer.alloc(28) : Buffer.alloc(0)
    if (options.zip64) {
      extra.writeUInt16LE(0x0001, 0)
      extra.writeUInt16LE(24, 2)
      extra.writeBigUInt64LE(BigInt(usize), 4)
      extra.writeBigUInt64LE(BigInt(body.length), 12)
      extra.writeBigUInt64LE(BigInt(offset), 20)
    }
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(45, 4)
    central.writeUInt16LE(options.zip64 ? 45 : 20, 6)
    central.writeUInt16LE(flags, 8)
    central.writeUInt16LE(method, 10)
    central.writeUInt32LE(0x21, 12)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(options.zip64 ? U32 : body.length, 20)
    central.writeUInt32LE(options.zip64 ? U32 : usize, 24)
    central.writeUInt16LE(name.length, 28)
    central.writeUInt16LE(extra.length, 30)
    central.writeUInt32LE(options.zip64 ? U32 : offset, 42)
    centrals.push(central, name, extra)
    offset += local.length + name.length + body.length
  }
  const directory = Buffer.concat(centrals)
  const tail: Buffer[] = []
  const count = inputs.length
  if (options.zip64) {
    const record = Buffer.alloc(56)
    record.writeUInt32LE(0x06064b50, 0)
    record.writeBigUInt64LE(44n, 4)
    record.writeUInt16LE(45, 12)
    record.writeUInt16LE(45, 14)
    record.writeBigUInt64LE(BigInt(count), 24)
    record.writeBigUInt64LE(BigInt(count), 32)
    record.writeBigUInt64LE(BigInt(directory.length), 40)
    record.writeBigUInt64LE(BigInt(offset), 48)
    const locator = Buffer.alloc(20)
    locator.writeUInt32LE(0x07064b50, 0)
    locator.writeBigUInt64LE(BigInt(offset + directory.length), 8)
    locator.writeUInt32LE(1, 16)
    tail.push(record, locator)
  }
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(options.zip64 ? 0xffff : count, 8)
  end.writeUInt16LE(options.zip64 ? 0xffff : count, 10)
  end.writeUInt32LE(options.zip64 ? U32 : directory.length, 12)
  end.writeUInt32LE(options.zip64 ? U32 : offset, 16)
  return Buffer.concat([...locals, directory, ...tail, end])
}
