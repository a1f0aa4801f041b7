/**
 * One PUT per upload URL, and the per-user storage quota. Concurrent PUTs to one URL are
 * refused at once (409) while the first writes, so staging holds one body; a PUT cut off
 * gives its URL back for the retry; a stored file keeps it. USER_STORAGE_QUOTA refuses
 * an announced length before a byte is read, a streamed body once it outgrows the quota,
 * and keeps nothing of either.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { ConfigError, loadConfig } from '../src/config.ts'
import { writeZip } from '../src/lib/zip-writer.ts'
import { buildThreeMf, SEED_PLATE } from './helpers/three-mf.ts'
import { filesUnder, keyOfUrl, md5, pollUntilDone, putFile, rawPut, startHttpApp, type HttpApp } from './helpers/uploads.ts'

const MiB = 1024 * 1024
const GOOD = buildThreeMf({ plates: [SEED_PLATE] })
const URL_USED = { code: 1015, error: 'Ticket already used', message: 'This upload URL was already used' }
/** A zip of one stored entry, `size` bytes in all. */
const zipOf = (size: number) => {
  const pad = (n: number) => writeZip([{ name: 'pad.bin', data: Buffer.alloc(n, 7), method: 'store' }])
  return pad(size - pad(0).length)
}

type Call = ReturnType<HttpApp['as']>

async function user(s: HttpApp, account: string): Promise<{ call: Call; uid: number }> {
  const { uid } = await s.createUser(account)
  return { call: s.as((await s.login(account)).accessToken), uid }
}

async function create(call: Call) {
  const res = await call('POST', '/v1/iot-service/api/user/project', { name: 'x.3mf' })
  assert.equal(res.status, 200)
  return res.body as { project_id: string; model_id: string; profile_id: string; upload_url: string; upload_ticket: string }
}

async function printUrl(call: Call, p: { model_id: string; profile_id: string }): Promise<string> {
  const res = await call('GET', `/v1/iot-service/api/user/upload?models=${p.model_id}_${p.profile_id}_1.3mf`)
  assert.equal(res.status, 200)
  return res.body.urls[0].url
}

/** A PUT that sends `body`'s first bytes and holds the rest until `finish` (or `abort`). */
function heldPut(url: string, body: Buffer, sendFirst: number) {
  const req = http.request(url, { method: 'PUT', headers: { 'content-length': String(body.length) } })
  const response = new Promise<{ status: number; body: any }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }))
    })
    req.on('error', reject)
  })
  req.write(body.subarray(0, sendFirst))
  return { response, finish: () => req.end(body.subarray(sendFirst)), abort: () => req.destroy() }
}

async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 10))
  }
  assert.fail(`never: ${what}`)
}

const claims = (s: HttpApp) => s.database.db.selectFrom('upload_claims').select(['blob_key', 'uid', 'bytes']).execute()
const stagedBytes = (s: HttpApp) => filesUnder(path.join(s.filesDir, '.staging')).map((f) => fs.statSync(path.join(s.filesDir, '.staging', f)).size)

test('concurrent PUTs to one upload URL: the first writes, the others get 409 at once, staging holds one body', async (t) => {
  const s = await startHttpApp(t)
  const ada = await user(s, 'ada@example.com')
  const p = await create(ada.call)
  const body = zipOf(15 * MiB)
  for (const url of [p.upload_url, await printUrl(ada.call, p)]) {
    const first = heldPut(url, body, MiB)
    await until('the first PUT holds the claim and writes', async () => (await claims(s)).length === 1 && stagedBytes(s).length === 1)
    assert.deepEqual(await claims(s), [{ blob_key: keyOfUrl(url), uid: ada.uid, bytes: body.length }])
    // Seven more announce the same 15 MiB; each is answered while the first is still sending.
    const others = await Promise.all(Array.from({ length: 7 }, () => rawPut(url, { announce: body.length })))
    for (const other of others) assert.deepEqual([other.status, other.body], [409, URL_USED])
    const staged = stagedBytes(s)
    assert.equal(staged.length, 1, 'one body in staging')
    assert.ok(staged[0]! <= body.length)
    first.finish()
    const done = await first.response
    assert.equal(done.status, 200, JSON.stringify(done.body))
    assert.deepEqual(await claims(s), [], 'a stored file settles its claim')
    assert.deepEqual(stagedBytes(s), [])
    // The URL took its file: later PUTs are refused, the file stays as it was.
    const again = await putFile(url, GOOD)
    assert.deepEqual([again.status, again.body], [409, URL_USED])
    assert.ok(fs.readFileSync(path.join(s.filesDir, keyOfUrl(url))).equals(body))
  }
})

test('a PUT cut off mid-body gives its URL back: the retry is stored and processed', async (t) => {
  const s = await startHttpApp(t)
  const ada = await user(s, 'ada@example.com')
  const p = await create(ada.call)
  const cut = heldPut(p.upload_url, zipOf(4 * MiB), MiB)
  cut.response.catch(() => {})
  await until('the PUT holds the claim', async () => (await claims(s)).length === 1)
  cut.abort()
  await until('the claim is released', async () => (await claims(s)).length === 0)
  assert.deepEqual(stagedBytes(s), [], 'the partial body is gone')

  const retry = await putFile(p.upload_url, GOOD)
  assert.deepEqual([retry.status, retry.etag], [200, `"${md5(GOOD)}"`])
  const notified = await ada.call('PUT', '/v1/iot-service/api/user/notification', { upload: { ticket: p.upload_ticket, origin_file_name: 'x.3mf' } })
  assert.equal(notified.status, 200)
  assert.deepEqual((await pollUntilDone(ada.call, p.upload_ticket)).body, { message: 'success', code: null, error: null })
})

test('USER_STORAGE_QUOTA: over it refused (announced: before a byte; streamed: cut off), nothing kept; under it stored', async (t) => {
  const quota = 4 * MiB
  const s = await startHttpApp(t, { USER_STORAGE_QUOTA: String(quota) })
  const ada = await user(s, 'ada@example.com')
  const bob = await user(s, 'bob@example.com')
  const overQuota = { code: 1020, error: 'Storage quota exceeded', message: `The file would take this account past its storage quota (USER_STORAGE_QUOTA: ${quota} bytes)` }

  // Under the quota: a project file and a print file, 3 MiB in all, both counted.
  const p1 = await create(ada.call)
  assert.equal((await putFile(p1.upload_url, zipOf(2 * MiB))).status, 200)
  const print = await printUrl(ada.call, p1)
  assert.equal((await putFile(print, zipOf(MiB))).status, 200)
  const kept = [keyOfUrl(p1.upload_url), keyOfUrl(print)].sort()

  // Announced past what is left (1 MiB): refused before the body is read (none is sent).
  const p2 = await create(ada.call)
  const announced = await rawPut(p2.upload_url, { announce: MiB + 1 })
  assert.deepEqual([announced.status, announced.body], [413, overQuota])
  // Streamed without a length: cut off once it outgrows what is left.
  const chunks = Array.from({ length: 20 }, () => Buffer.alloc(128 * 1024, 1))
  const streamed = await rawPut(p2.upload_url, { chunks })
  assert.deepEqual([streamed.status, streamed.body], [413, overQuota])
  assert.deepEqual(filesUnder(s.filesDir), kept, 'nothing of either kept, nothing staged')
  assert.deepEqual(await claims(s), [])

  // The URL is still good for a file that fits, up to the last byte of the quota.
  const fits = zipOf(MiB)
  const put = await putFile(p2.upload_url, fits)
  assert.deepEqual([put.status, put.etag], [200, `"${md5(fits)}"`])
  const p3 = await create(ada.call)
  const full = await putFile(p3.upload_url, GOOD)
  assert.deepEqual([full.status, full.body], [413, overQuota])
  // Another user's quota is their own.
  const b = await create(bob.call)
  assert.equal((await putFile(b.upload_url, zipOf(3 * MiB))).status, 200)
})

test('USER_STORAGE_QUOTA: 5 GiB by default; 0 or off for none; anything else stops the start naming it', () => {
  assert.equal(loadConfig({}).userStorageQuota, 5 * 1024 ** 3)
  assert.equal(loadConfig({ USER_STORAGE_QUOTA: '1048576' }).userStorageQuota, MiB)
  assert.equal(loadConfig({ USER_STORAGE_QUOTA: '0' }).userStorageQuota, null)
  assert.equal(loadConfig({ USER_STORAGE_QUOTA: 'off' }).userStorageQuota, null)
  assert.throws(() => loadConfig({ USER_STORAGE_QUOTA: '5GB' }), (err) => err instanceof ConfigError && /^USER_STORAGE_QUOTA /.test(err.message))
})
