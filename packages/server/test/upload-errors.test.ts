/**
 * Bad uploads never hurt the server: files that are not 3MFs, zip bombs, broken metadata,
 * wrong or reused tickets, bad signatures, oversize bodies, another user's ids. Each gets
 * a clear error over HTTP and through the notification poll, the server keeps serving,
 * and nothing half-written stays in DATA_DIR.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildThreeMf, SEED_PLATE, type Fixture } from './helpers/three-mf.ts'
import { filesUnder, keyOfUrl, md5, pollUntilDone, putFile, rawPut, startHttpApp, type HttpApp } from './helpers/uploads.ts'
import { writeZip } from '../src/lib/zip-writer.ts'

const MiB = 1024 * 1024
const FORBIDDEN = { code: 8, error: 'Resource forbidden', message: 'permission denied' }
const failed = (message: string) => ({ code: 1016, error: 'Upload failed', message })
const GOOD = buildThreeMf({ plates: [SEED_PLATE] })

type Call = ReturnType<HttpApp['as']>

async function user(s: HttpApp, account: string): Promise<Call> {
  await s.createUser(account)
  return s.as((await s.login(account)).accessToken)
}

async function create(call: Call) {
  const res = await call('POST', '/v1/iot-service/api/user/project', { name: 'x.3mf' })
  assert.equal(res.status, 200)
  return res.body as { project_id: string; model_id: string; profile_id: string; upload_url: string; upload_ticket: string }
}

const notify = (call: Call, ticket: string) => call('PUT', '/v1/iot-service/api/user/notification', { upload: { ticket, origin_file_name: 'x.3mf' } })
const poll = (call: Call, ticket: string) => call('GET', `/v1/iot-service/api/user/notification?action=upload&ticket=${ticket}`)

/** The server still answers, and still takes a good file all the way. */
async function stillServing(s: HttpApp, call: Call) {
  assert.equal((await fetch(`${s.base}/healthz`)).status, 200)
  const p = await create(call)
  assert.equal((await putFile(p.upload_url, GOOD)).status, 200)
  assert.equal((await notify(call, p.upload_ticket)).status, 200)
  assert.deepEqual((await pollUntilDone(call, p.upload_ticket)).body, { message: 'success', code: null, error: null })
  return p
}

test('a file that is not a zip: 422 on the PUT, the same reason from notification and poll; nothing kept', async (t) => {
  const s = await startHttpApp(t)
  const ada = await user(s, 'ada@example.com')
  const p = await create(ada)
  const expected = failed('Wrong file format: The file is not a 3MF (zip) archive')
  const put = await putFile(p.upload_url, Buffer.from('{"this": "is JSON, not a 3MF"}'), { 'content-type': 'application/json' })
  assert.deepEqual([put.status, put.body], [422, expected])
  assert.deepEqual(filesUnder(s.filesDir), [])
  for (const res of [await notify(ada, p.upload_ticket), await poll(ada, p.upload_ticket), await putFile(p.upload_url, GOOD)]) {
    assert.deepEqual([res.status, res.body], [422, expected])
  }
  const project = await ada('GET', `/v1/iot-service/api/user/project/${p.project_id}`)
  assert.deepEqual([project.body.upload_url, project.body.download_url, project.body.profiles[0].context], [null, null, {}])
  assert.deepEqual(filesUnder(s.filesDir), [])
  const good = await stillServing(s, ada)
  assert.deepEqual(filesUnder(s.filesDir), [keyOfUrl(good.upload_url)])
})

test('hostile or broken 3MFs fail in processing with their reason, and leave no file behind', async (t) => {
  const s = await startHttpApp(t)
  const ada = await user(s, 'ada@example.com')
  const cases: Array<[string, Fixture, string]> = [
    ['a 17 MiB thumbnail bomb', { plates: [SEED_PLATE], entries: { 'Metadata/plate_1.png': Buffer.alloc(17 * MiB) } }, 'Wrong file format: Metadata/plate_1.png is too large (17825792 bytes uncompressed; at most 16777216)'],
    [
      'an entry larger than it claims',
      { plates: [SEED_PLATE], omit: ['Metadata/slice_info.config'], extra: [{ name: 'Metadata/slice_info.config', data: Buffer.alloc(MiB, 0x20), claim: { uncompressedSize: 100 } }] },
      'Wrong file format: Metadata/slice_info.config is larger than the archive says',
    ],
    ['no slice info', { plates: [SEED_PLATE], omit: ['Metadata/slice_info.config'] }, 'Wrong file format: Metadata/slice_info.config is missing; is the file sliced?'],
    ['malformed slice info', { plates: [SEED_PLATE], entries: { 'Metadata/slice_info.config': '<config><plate>' } }, 'Wrong file format: Metadata/slice_info.config is not well-formed XML (<plate> is never closed)'],
    ['malformed project settings', { plates: [SEED_PLATE], entries: { 'Metadata/project_settings.config': '{nope' } }, 'Wrong file format: Metadata/project_settings.config is not a JSON object'],
  ]
  for (const [what, fixture, message] of cases) {
    const p = await create(ada)
    const put = await putFile(p.upload_url, buildThreeMf(fixture))
    assert.equal(put.status, 200, what)
    assert.equal((await notify(ada, p.upload_ticket)).status, 200, what)
    const done = await pollUntilDone(ada, p.upload_ticket)
    assert.deepEqual([done.status, done.body], [422, failed(message)], what)
    const profile = await ada('GET', `/v1/iot-service/api/user/profile/${p.profile_id}`)
    assert.deepEqual([profile.body.context, profile.body.url, profile.body.md5], [{}, null, null], what)
    assert.deepEqual(filesUnder(s.filesDir), [], `${what}: no file left`)
  }
  // Over 10,000 entries is refused at the PUT already (only the directory is read there).
  const p = await create(ada)
  const crowd = writeZip(Array.from({ length: 10_001 }, (_, i) => ({ name: `3D/Objects/o${i}.model`, data: '', method: 'store' as const })))
  const put = await putFile(p.upload_url, crowd)
  assert.deepEqual([put.status, put.body], [422, failed('Wrong file format: The archive has more than 10000 entries')])
  assert.deepEqual((await poll(ada, p.upload_ticket)).body, failed('Wrong file format: The archive has more than 10000 entries'))
  assert.deepEqual(filesUnder(s.filesDir), [])
  await stillServing(s, ada)
})

test('zip bombs are refused at the PUT from the directory alone: any entry over 1 MiB past 100:1, read or not; real files pass', async (t) => {
  const s = await startHttpApp(t)
  const ada = await user(s, 'ada@example.com')
  const bomb = (name: string) => failed(`Wrong file format: ${name} is compressed more than 100:1, which only zip bombs do`)
  const cases: Array<['project' | 'print', Fixture, string]> = [
    // All zeros at about 1,000:1, named by no plate: it would never be inflated, and is still refused.
    ['project', { plates: [SEED_PLATE], extra: [{ name: 'Metadata/unused.bin', data: Buffer.alloc(8 * MiB) }] }, 'Metadata/unused.bin'],
    ['project', { plates: [SEED_PLATE], entries: { 'Metadata/model_settings.config': ' '.repeat(2 * MiB) } }, 'Metadata/model_settings.config'],
    ['print', { plates: [{ ...SEED_PLATE, gcode: ';'.repeat(4 * MiB) }] }, 'Metadata/plate_1.gcode'],
  ]
  for (const [kind, fixture, name] of cases) {
    const p = await create(ada)
    const url = kind === 'project' ? p.upload_url : (await ada('GET', `/v1/iot-service/api/user/upload?models=${p.model_id}_${p.profile_id}_1.3mf`)).body.urls[0].url
    const put = await putFile(url, buildThreeMf(fixture))
    assert.deepEqual([put.status, put.body], [422, bomb(name)], `${kind}: ${name}`)
    assert.deepEqual(filesUnder(s.filesDir), [], `${name}: nothing kept`)
  }
  // Real G-code (a few MiB at well under 10:1) and a small entry at any ratio pass, on both URLs.
  let seed = 1
  const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647
  const lines = Array.from({ length: 120_000 }, () => `G1 X${(next() * 256).toFixed(3)} Y${(next() * 256).toFixed(3)} E${(next() * 2).toFixed(5)}\n`)
  const gcode = lines.join('')
  assert.ok(gcode.length > 3 * MiB)
  const real = buildThreeMf({ plates: [{ ...SEED_PLATE, gcode }], extra: [{ name: 'Metadata/small.bin', data: Buffer.alloc(MiB) }] })
  const p = await create(ada)
  const print = (await ada('GET', `/v1/iot-service/api/user/upload?models=${p.model_id}_${p.profile_id}_1.3mf`)).body.urls[0].url
  for (const url of [p.upload_url, print]) assert.equal((await putFile(url, real)).status, 200)
  assert.equal((await notify(ada, p.upload_ticket)).status, 200)
  assert.deepEqual((await pollUntilDone(ada, p.upload_ticket)).body, { message: 'success', code: null, error: null })
})

test('tickets: unknown, notified before the file, PUT or notified twice, used after success', async (t) => {
  const s = await startHttpApp(t)
  const ada = await user(s, 'ada@example.com')
  const p = await create(ada)
  const unknown = await notify(ada, '0123456789abcdef0123456789abcdef')
  assert.deepEqual([unknown.status, unknown.body], [404, { code: 1004, error: 'Not found', message: 'No such ticket' }])
  const early = await notify(ada, p.upload_ticket)
  assert.deepEqual([early.status, early.body], [400, { code: 1002, error: 'Bad request', message: 'No file has been uploaded for this ticket' }])
  assert.deepEqual((await poll(ada, p.upload_ticket)).body, { message: 'running', code: null, error: null })

  assert.equal((await putFile(p.upload_url, GOOD)).status, 200)
  const again = await putFile(p.upload_url, GOOD)
  assert.deepEqual([again.status, again.body], [409, { code: 1015, error: 'Ticket already used', message: 'This upload URL was already used' }])
  assert.equal((await notify(ada, p.upload_ticket)).status, 200)
  const twice = await notify(ada, p.upload_ticket)
  assert.deepEqual([twice.status, twice.body], [409, { code: 1015, error: 'Ticket already used', message: 'This upload ticket was already used' }])
  await pollUntilDone(ada, p.upload_ticket)
  assert.equal((await putFile(p.upload_url, GOOD)).status, 409)
  assert.equal((await notify(ada, p.upload_ticket)).status, 409)
  assert.deepEqual(filesUnder(s.filesDir), [keyOfUrl(p.upload_url)])
})

test('signed URLs: missing, tampered, for another path or method, or expired, are refused', async (t) => {
  const s = await startHttpApp(t)
  const ada = await user(s, 'ada@example.com')
  const p = await create(ada)
  const url = new URL(p.upload_url)
  const sig = url.searchParams.get('sig')!
  const mismatch = { code: 1013, error: 'Signature does not match', message: 'The URL’s signature is missing or invalid' }
  const variants = [
    `${url.origin}${url.pathname}`,
    `${url.origin}${url.pathname}?expires=${url.searchParams.get('expires')}`,
    `${url.origin}${url.pathname}?expires=${url.searchParams.get('expires')}&sig=${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`,
    `${url.origin}${url.pathname}?expires=${Number(url.searchParams.get('expires')) + 3600}&sig=${sig}`,
    `${url.origin}${url.pathname.replace(/upload-[0-9a-f]+/, `upload-${'f'.repeat(32)}`)}${url.search}`,
    `${url.origin}${url.pathname.replace(`/files/${p.project_id}/`, `/files/${Number(p.project_id) + 1}/`)}${url.search}`,
  ]
  for (const variant of variants) {
    const res = await putFile(variant, GOOD)
    assert.deepEqual([res.status, res.body], [403, mismatch], variant)
  }
  // A PUT signature does not let anyone GET.
  const get = await fetch(p.upload_url)
  assert.deepEqual([get.status, await get.json()], [403, mismatch])

  // Valid for 15 minutes: one second before, it works; after, it has expired.
  const late = await create(ada)
  s.clock.advance(15 * 60_000 - 1000)
  assert.equal((await putFile(p.upload_url, GOOD)).status, 200)
  s.clock.advance(2000)
  const expired = await putFile(late.upload_url, GOOD)
  assert.deepEqual([expired.status, expired.body], [403, { code: 1014, error: 'Request has expired', message: 'The upload URL has expired' }])
  assert.deepEqual(filesUnder(s.filesDir), [keyOfUrl(p.upload_url)])

  // Download links: tampered ones are refused, and so is a link whose file is gone.
  assert.equal((await notify(ada, p.upload_ticket)).status, 200)
  await pollUntilDone(ada, p.upload_ticket)
  const project = await ada('GET', `/v1/iot-service/api/user/project/${p.project_id}`)
  const thumb = new URL(project.body.profiles[0].context.plates[0].thumbnail.url)
  assert.equal((await fetch(thumb)).status, 200)
  assert.equal((await fetch(`${thumb.origin}${thumb.pathname.replace('plate_1.png', 'plate_1_small.png')}${thumb.search}`)).status, 403)
  assert.equal((await fetch(`${thumb.origin}${thumb.pathname}`)).status, 403)
  // Nothing can be written to a download link.
  assert.equal((await fetch(thumb, { method: 'PUT', body: '{}' })).status, 405)
})

test('uploads over MAX_UPLOAD_BYTES: 413 whether announced or streamed, the reason in the poll, nothing kept', async (t) => {
  const limit = 64 * 1024
  const s = await startHttpApp(t, { MAX_UPLOAD_BYTES: String(limit) })
  const ada = await user(s, 'ada@example.com')
  const tooLarge = { code: 1007, error: 'Request body too large', message: `The file is larger than this server accepts (MAX_UPLOAD_BYTES: ${limit} bytes)` }

  // Announced: answered before the body is read (none is sent here).
  const announced = await create(ada)
  const first = await rawPut(announced.upload_url, { announce: 10 * MiB })
  assert.deepEqual([first.status, first.body], [413, tooLarge])
  assert.deepEqual((await poll(ada, announced.upload_ticket)).body, failed(tooLarge.message))

  // Streamed without a length: cut off once it passes the limit.
  const streamed = await create(ada)
  const chunks = Array.from({ length: 10 }, () => Buffer.alloc(16 * 1024, 1))
  const second = await rawPut(streamed.upload_url, { chunks })
  assert.deepEqual([second.status, second.body], [413, tooLarge])
  assert.deepEqual((await poll(ada, streamed.upload_ticket)).body, failed(tooLarge.message))
  assert.deepEqual(filesUnder(s.filesDir), [], 'no staged part left')

  // A file of exactly the limit is taken (a zip of one stored entry, sized to fit).
  const pad = (n: number) => writeZip([{ name: 'pad.bin', data: Buffer.alloc(n), method: 'store' }])
  const exact = pad(limit - pad(0).length)
  assert.equal(exact.length, limit)
  const ok = await create(ada)
  const put = await putFile(ok.upload_url, exact)
  assert.deepEqual([put.status, put.etag], [200, `"${md5(exact)}"`])
  assert.deepEqual(filesUnder(s.filesDir), [keyOfUrl(ok.upload_url)])
  assert.equal((await fetch(`${s.base}/healthz`)).status, 200)
})

test('another user: cannot notify, poll, patch, or get upload URLs for someone else’s project', async (t) => {
  const s = await startHttpApp(t)
  const ada = await user(s, 'ada@example.com')
  const bob = await user(s, 'bob@example.com')
  const a = await create(ada)
  assert.equal((await putFile(a.upload_url, GOOD)).status, 200)
  const b = await create(bob)

  assert.deepEqual(await notify(bob, a.upload_ticket), { status: 403, body: FORBIDDEN })
  assert.deepEqual(await poll(bob, a.upload_ticket), { status: 403, body: FORBIDDEN })
  assert.deepEqual(await bob('GET', `/v1/iot-service/api/user/upload?models=${a.model_id}_${a.profile_id}_1.3mf`), { status: 403, body: FORBIDDEN })
  // Bob's model with Ada's profile (or the other way round) is not Bob's either.
  assert.deepEqual(await bob('GET', `/v1/iot-service/api/user/upload?models=${b.model_id}_${a.profile_id}_1.3mf`), { status: 403, body: FORBIDDEN })
  assert.deepEqual(await bob('PATCH', `/v1/iot-service/api/user/project/${a.project_id}`, { name: 'mine now' }), { status: 403, body: FORBIDDEN })
  assert.deepEqual(await bob('PATCH', `/v1/iot-service/api/user/project/${b.project_id}`, { profile_id: a.profile_id, profile_print_3mf: [{ plate_idx: 1, url: a.upload_url }] }), { status: 403, body: FORBIDDEN })
  // Ada's file named in Bob's own project.
  assert.deepEqual(await bob('PATCH', `/v1/iot-service/api/user/project/${b.project_id}`, { profile_id: b.profile_id, profile_print_3mf: [{ plate_idx: 1, url: a.upload_url }] }), { status: 403, body: FORBIDDEN })
  assert.deepEqual(await bob('GET', `/v1/iot-service/api/user/project/${a.project_id}`), { status: 403, body: FORBIDDEN })

  // Ada's ticket still works for Ada, and her project kept its name.
  assert.equal((await notify(ada, a.upload_ticket)).status, 200)
  await pollUntilDone(ada, a.upload_ticket)
  assert.equal((await ada('GET', `/v1/iot-service/api/user/project/${a.project_id}`)).body.name, 'x.3mf')
})

test('PATCH and user/upload refuse what they cannot use, with the reason', async (t) => {
  const s = await startHttpApp(t)
  const ada = await user(s, 'ada@example.com')
  const p = await create(ada)
  const patch = (body: unknown) => ada('PATCH', `/v1/iot-service/api/user/project/${p.project_id}`, body)
  const bad = (message: string) => ({ code: 1002, error: 'Bad request', message })

  assert.deepEqual(await patch({ profile_print_3mf: [{ plate_idx: 1, url: p.upload_url }] }), { status: 400, body: { code: 1000, error: 'Invalid input parameters', message: "field 'profile_id' is not set" } })
  assert.deepEqual(await patch({ profile_id: p.profile_id, profile_print_3mf: [{ plate_idx: 1, url: 'https://s3.example.com/bucket/file.3mf?sig=x' }] }), { status: 400, body: bad('url is not an upload URL of this server') })
  assert.deepEqual(await patch({ profile_id: p.profile_id, profile_print_3mf: [{ plate_idx: 1, url: p.upload_url }] }), { status: 400, body: bad('No file has been uploaded for plate 1 at the given url') })
  const urls = await ada('GET', `/v1/iot-service/api/user/upload?models=${p.model_id}_${p.profile_id}_1.3mf`)
  const printUrl = urls.body.urls[0].url
  assert.deepEqual(await patch({ profile_id: p.profile_id, profile_print_3mf: [{ plate_idx: 1, url: printUrl }] }), { status: 400, body: bad('No file has been uploaded for plate 1 at the given url') })
  const notZip = await putFile(printUrl, Buffer.from('G28\n'))
  assert.deepEqual([notZip.status, notZip.body], [422, failed('Wrong file format: The file is not a 3MF (zip) archive')])
  assert.equal((await putFile(printUrl, GOOD)).status, 200)
  assert.equal((await putFile(printUrl, GOOD)).status, 409)
  assert.deepEqual(await patch({ profile_id: p.profile_id, profile_print_3mf: [{ plate_idx: 1, url: printUrl, md5: 'f'.repeat(32) }] }), { status: 400, body: bad('md5 of plate 1 does not match the uploaded file') })
  assert.deepEqual(await patch({ profile_id: Number(p.profile_id), name: 'Renamed', profile_print_3mf: [{ plate_idx: 1, url: printUrl, md5: md5(GOOD) }, { plate_idx: 2, url: '' }] }), { status: 200, body: { message: 'success', code: null, error: null } })
  assert.equal((await ada('GET', `/v1/iot-service/api/user/project/${p.project_id}`)).body.name, 'Renamed')

  for (const [query, status, body] of [
    ['', 400, { code: 1000, error: 'Invalid input parameters', message: "field 'models' is not set" }],
    ['?models=plate.3mf', 400, bad('"plate.3mf" is not <model_id>_<profile_id>_<plate>.3mf')],
    [`?models=${p.model_id}_${p.profile_id}_0.3mf`, 400, bad(`"${p.model_id}_${p.profile_id}_0.3mf" is not <model_id>_<profile_id>_<plate>.3mf`)],
    [`?models=${p.model_id}_${Number(p.profile_id) + 1}_1.3mf`, 403, FORBIDDEN],
  ] as const) {
    assert.deepEqual(await ada('GET', `/v1/iot-service/api/user/upload${query}`), { status, body }, query)
  }
  const two = await ada('GET', `/v1/iot-service/api/user/upload?models=${p.model_id}_${p.profile_id}_1.3mf,${p.model_id}_${p.profile_id}_2.3mf`)
  assert.deepEqual(two.body.urls.map((u: { file: string }) => u.file), [`${p.model_id}_${p.profile_id}_1.3mf`, `${p.model_id}_${p.profile_id}_2.3mf`])
  assert.notEqual(two.body.urls[0].url, two.body.urls[1].url)
})
