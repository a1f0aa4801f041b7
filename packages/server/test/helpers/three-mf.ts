/**
 * The tests' 3MF fixtures (built by the sample-3MF writer) and an in-memory file for the
 * zip reader's unit tests.
 */
import { Readable } from 'node:stream'
import type { RandomAccessFile } from '../../src/lib/zip-reader.ts'
import type { FixturePlate } from '../../src/simulator/sample-3mf.ts'

export * from '../../src/simulator/sample-3mf.ts'

/** The seed document's single plate (X1 Carbon, 0.4 mm, one green PLA). */
export const SEED_PLATE: FixturePlate = {
  index: 1,
  prediction: 3348,
  weight: '12.60',
  filaments: [{ id: '1', type: 'PLA', color: '#00AE42', used_m: '4.16', used_g: '12.60' }],
}

/** Two plates: one filament on the first, two colours of PETG and PLA on the second. */
export const TWO_PLATES: FixturePlate[] = [
  { index: 1, prediction: 1800, weight: '7.25', filaments: [{ id: '1', type: 'PETG', color: '#FF6A13', used_m: '2.41', used_g: '7.25' }] },
  {
    index: 2,
    prediction: 5025,
    weight: '31.50',
    filaments: [
      { id: '1', type: 'PLA', color: '#000000', used_m: '7.03', used_g: '21.00' },
      { id: '3', type: 'PLA', color: '#FFFFFF', used_m: '3.5', used_g: '10.50' },
      { id: '4', type: 'PETG', color: '#ff6a13', used_m: '0.01', used_g: '0.00' },
    ],
  },
]

/** Random access over an in-memory file (unit tests of the reader). */
export function bufferFile(buf: Buffer): RandomAccessFile & { bytesRead: number } {
  const file = {
    size: buf.length,
    bytesRead: 0,
    async read(position: number, length: number) {
      const out = Buffer.from(buf.subarray(position, position + length))
      file.bytesRead += out.length
      return out
    },
    stream(start: number, end: number) {
      file.bytesRead += end - start
      return Readable.from([buf.subarray(start, end)])
    },
    async close() {},
  }
  return file
}
