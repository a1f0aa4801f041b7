/** The filesystem blob store's shared descriptor: streams handed out never close it under the file. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { FsBlobStore } from '../src/storage/fs-blob-store.ts'

test('a stream destroyed before its end leaves the file readable, and closing it works', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'blob-store-'))
  t.after(() => fs.rmSync(root, { recursive: true, force: true }))
  const store = new FsBlobStore(root)
  const bytes = Buffer.alloc(1024 * 1024, 7)
  await store.put('projects/1/a.3mf', Readable.from([bytes]), { maxBytes: bytes.length })

  const file = (await store.open('projects/1/a.3mf'))!
  const abandoned = file.stream(0, file.size)
  abandoned.destroy()
  // Another reader of the same open file is unaffected.
  assert.deepEqual(await file.read(10, 4), Buffer.from([7, 7, 7, 7]))
  const chunks: Buffer[] = []
  for await (const chunk of file.stream(0, file.size)) chunks.push(chunk as Buffer)
  assert.equal(Buffer.concat(chunks).length, bytes.length)
  await file.close()
})
