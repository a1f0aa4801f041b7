/**
 * The PNG images shipped as files: the task cover placeholder the API links to, and the
 * simulator's per-plate thumbnails built on the sample plate image.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { crc32 } from 'node:zlib'
import { plateImage } from '../src/simulator/sample-3mf.ts'
import { startTestApp } from './helpers/app.ts'

/** The chunks of a PNG, each checked against its CRC; throws on a bad signature or CRC. */
function pngChunks(png: Buffer): { type: string; data: Buffer }[] {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature')
  const chunks: { type: string; data: Buffer }[] = []
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at)
    const type = png.toString('latin1', at + 4, at + 8)
    assert.equal(png.readUInt32BE(at + 8 + length), crc32(png.subarray(at + 4, at + 8 + length)), `CRC of ${type}`)
    chunks.push({ type, data: png.subarray(at + 8, at + 8 + length) })
    at += 12 + length
  }
  return chunks
}

test('GET /assets/task-cover.png answers the shipped 256x256 PNG, cacheable, without a login', async (t) => {
  const s = await startTestApp(t)
  const res = await s.request({ method: 'GET', url: '/assets/task-cover.png' })
  assert.equal(res.statusCode, 200)
  assert.equal(res.headers['content-type'], 'image/png')
  assert.equal(res.headers['cache-control'], 'public, max-age=86400')
  assert.ok(res.rawPayload.equals(readFileSync(new URL('../assets/task-cover.png', import.meta.url))))
  const chunks = pngChunks(res.rawPayload)
  assert.deepEqual(chunks.map((c) => c.type), ['IHDR', 'IDAT', 'IEND'])
  assert.deepEqual([chunks[0]!.data.readUInt32BE(0), chunks[0]!.data.readUInt32BE(4)], [256, 256])
})

test('plate thumbnails are valid PNGs, one per plate, naming their plate', () => {
  const [one, two] = [plateImage(1), plateImage(2)]
  assert.ok(!one.equals(two))
  assert.deepEqual(pngChunks(one).map((c) => c.type), ['IHDR', 'IDAT', 'tEXt', 'IEND'])
  assert.equal(pngChunks(two)[2]!.data.toString('latin1'), 'Plate\u00002')
})
