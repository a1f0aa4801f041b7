/**
 * The file sweep: uploads never notified and print files never attached go after
 * UPLOAD_ABANDON_AFTER, files of deleted projects and staging leftovers go; everything
 * still in use stays and keeps downloading.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { buildThreeMf, SEED_PLATE } from './helpers/three-mf.ts'
import { download, filesUnder, keyOfUrl, md5, pollUntilDone, putFile, startHttpApp, type HttpApp } from './helpers/uploads.ts'

const GOOD = buildThreeMf({ plates: [SEED_PLATE] })
const PRINT = buildThreeMf({ plates: [{ ...SEED_PLATE, gcode: 'G28\n' }] })
type Call = ReturnType<HttpApp['as']>

async function project(call: Call, options: { notify: boolean; print?: 'attached' | 'loose' }) {
  const p = (await call('POST', '/v1/iot-service/api/user/project', { name: 'x' })).body
  assert.equal((await putFile(p.upload_url, GOOD)).status, 200)
  if (options.notify) {
    await call('PUT', '/v1/iot-service/api/user/notification', { upload: { ticket: p.upload_ticket } })
    await pollUntilDone(call, p.upload_ticket)
  }
  let print: string | undefined
  if (options.print) {
    const urls = await call('GET', `/v1/iot-service/api/user/upload?models=${p.model_id}_${p.profile_id}_1.3mf`)
    print = urls.body.urls[0].url as string
    assert.equal((await putFile(print, PRINT)).status, 200)
    if (options.print === 'attached') {
      const res = await call('PATCH', `/v1/iot-service/api/user/project/${p.project_id}`, { profile_id: p.profile_id, profile_print_3mf: [{ plate_idx: 1, md5: md5(PRINT), url: print }] })
      assert.equal(res.status, 200)
    }
  }
  return { ...p, print, key: keyOfUrl(p.upload_url), printKey: print ? keyOfUrl(print) : undefined }
}

test('the sweep removes what was abandoned or whose project is gone, and keeps the rest', async (t) => {
  const s = await startHttpApp(t)
  const adaUser = await s.createUser('ada@example.com')
  const ada = s.as((await s.login('ada@example.com')).accessToken)
  const bob = await s.createUser('bob@example.com')
  const bobCall = s.as((await s.login('bob@example.com')).accessToken)

  const abandoned = await project(ada, { notify: false })
  const loosePrint = await project(ada, { notify: true, print: 'loose' })
  const complete = await project(ada, { notify: true, print: 'attached' })
  const bobs = await project(bobCall, { notify: true, print: 'attached' })
  const staging = path.join(s.filesDir, '.staging')
  fs.mkdirSync(staging, { recursive: true })
  fs.writeFileSync(path.join(staging, 'cut-off-by-a-crash'), 'partial')
  // A PUT a crash cut off keeps its URL's claim until the sweep.
  const crashedClaim = { blob_key: `projects/${abandoned.project_id}/upload-${'0'.repeat(32)}.3mf`, claim_id: 'crashed', uid: adaUser.uid, bytes: 7, created_at: s.clock.ms }
  await s.database.db.insertInto('upload_claims').values(crashedClaim).execute()
  const all = [abandoned.key, loosePrint.key, loosePrint.printKey!, complete.key, complete.printKey!, bobs.key, bobs.printKey!].sort()
  assert.deepEqual(filesUnder(s.filesDir), [...all, '.staging/cut-off-by-a-crash'].sort())

  // Nothing is old enough yet: the sweep keeps everything.
  assert.deepEqual(await s.app.services.uploads.sweep(), { abandonedTickets: 0, unattachedPrintFiles: 0, strayBlobs: 0, stagingLeftovers: 0, staleClaims: 0 })
  assert.equal(filesUnder(s.filesDir).length, all.length + 1)

  const bobProject = (await bobCall('GET', `/v1/iot-service/api/user/project/${bobs.project_id}`)).body
  assert.equal((await download(bobProject.download_url)).status, 200)
  const deleted = await s.admin({ method: 'DELETE', url: `/admin/v1/users/${bob.uid}` })
  assert.equal(deleted.statusCode, 204, deleted.body)

  s.clock.advance(s.config.uploadAbandonAfter * 1000 + 60_000)
  assert.deepEqual(await s.app.services.uploads.sweep(), { abandonedTickets: 1, unattachedPrintFiles: 1, strayBlobs: 2, stagingLeftovers: 1, staleClaims: 1 })
  assert.deepEqual(await s.database.db.selectFrom('upload_claims').selectAll().execute(), [])
  assert.deepEqual(filesUnder(s.filesDir), [loosePrint.key, complete.key, complete.printKey!].sort())

  const poll = await ada('GET', `/v1/iot-service/api/user/notification?action=upload&ticket=${abandoned.upload_ticket}`)
  assert.deepEqual([poll.status, poll.body], [422, { code: 1016, error: 'Upload failed', message: 'The upload was abandoned: no notification within 3600 seconds' }])
  // What stays still downloads, without a token, long after; what went answers 404.
  const kept = (await ada('GET', `/v1/iot-service/api/user/project/${complete.project_id}`)).body
  assert.ok((await download(kept.download_url)).bytes.equals(GOOD))
  assert.equal((await download(kept.profiles[0].context.plates[0].gcode.url)).bytes.toString(), 'G28\n')
  const gone = await download(bobProject.download_url)
  assert.deepEqual([gone.status, JSON.parse(gone.bytes.toString())], [404, { code: 1004, error: 'Not found', message: 'No such file' }])
  // A second sweep finds nothing more.
  assert.deepEqual(await s.app.services.uploads.sweep(), { abandonedTickets: 0, unattachedPrintFiles: 0, strayBlobs: 0, stagingLeftovers: 0, staleClaims: 0 })
})
