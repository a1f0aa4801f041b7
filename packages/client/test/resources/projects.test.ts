import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { ProjectDetailReply, ProjectListItem as ProjectListItemSchema, ProjectProfileReply } from '@bambu-cloud/protocol'
import {
  BadRequestError,
  PermissionDeniedError,
  UnprocessableEntityError,
  type ProjectDetail,
  type ProjectListItem,
  type ProjectProfileDetail,
  type UploadedProject,
  type UploadProgress,
} from '@bambu-cloud/client'
import { addDevice } from '../../../server/test/helpers/app.ts'
import { buildThreeMf, TWO_PLATES, type Fixture } from '../../../server/test/helpers/three-mf.ts'
import { md5, startHttpApp } from '../../../server/test/helpers/uploads.ts'
import { assertSchema, expectType, loggedIn, startCloud } from '../helpers/cloud.ts'

const CONTEXT = {
  compatibility: { dev_model_name: 'C12', dev_product_name: 'P1S', nozzle_diameter: 0.4 },
  plates: [{ index: 1, prediction: 1800, weight: 7.25, filaments: [{ id: '1', type: 'PETG', color: '#FF6A13', used_m: '2.41', used_g: '7.25' }] }],
}

test('projects.list, get and profile: your projects and their sliced profiles; others’ are 403', async (t) => {
  const cloud = await startCloud(t)
  const { client, uid } = await loggedIn(cloud)
  const { projects } = cloud.s.app.services
  assert.deepEqual(await client.projects.list(), [])
  const first = await projects.createProject(uid, { name: 'Bracket' })
  cloud.s.clock.advance(61_000)
  const second = await projects.createProject(uid, { name: 'Hinge', content: 'two parts' })
  const profile = await projects.addProfile(second.project_id, { name: 'Hinge 0.2mm', context: CONTEXT, filename: 'hinge.3mf' })

  const list = expectType<ProjectListItem[]>(await client.projects.list())
  for (const p of list) assertSchema(ProjectListItemSchema, p, 'project')
  assert.deepEqual(list.map((p) => [p.project_id, p.user_id, p.name, p.content]), [
    [String(second.project_id), String(uid), 'Hinge', 'two parts'],
    [String(first.project_id), String(uid), 'Bracket', null],
  ])

  const detail = expectType<ProjectDetail>(await client.projects.get(list[0]!.project_id))
  assertSchema(ProjectDetailReply, detail)
  assert.equal(detail.name, 'Hinge')
  assert.equal(detail.model_id, second.model_id)
  assert.deepEqual(detail.profiles.map((p) => [p.profile_id, p.name, p.context]), [[String(profile.profile_id), 'Hinge 0.2mm', CONTEXT]])
  assert.equal((await client.projects.get(first.project_id)).name, 'Bracket', 'a number id works too')

  const full = expectType<ProjectProfileDetail>(await client.projects.profile(detail.profiles[0]!.profile_id, detail.model_id))
  assertSchema(ProjectProfileReply, full)
  assert.equal(full.profile_id, String(profile.profile_id))
  assert.equal(full.filename, 'hinge.3mf')
  assert.deepEqual(full.context, CONTEXT)
  assert.equal((await client.projects.profile(profile.profile_id)).name, 'Hinge 0.2mm')
  await assert.rejects(client.projects.profile(profile.profile_id, 'US00000000000000'), BadRequestError)

  const bob = await loggedIn(cloud, 'bob@example.com')
  assert.deepEqual(await bob.client.projects.list(), [])
  await assert.rejects(bob.client.projects.get(second.project_id), (err) => err instanceof PermissionDeniedError && err.code === 8)
  await assert.rejects(bob.client.projects.profile(profile.profile_id), PermissionDeniedError)
})

/** A server whose signed URLs point at itself (PUBLIC_URL is its own address), and a logged-in SDK client. */
async function uploadCloud(t: TestContext) {
  const s = await startHttpApp(t)
  const cloud = { s, baseUrl: s.base }
  return { cloud, ...(await loggedIn(cloud)) }
}

const SLICED: Fixture = {
  plates: [TWO_PLATES[0]!, { ...TWO_PLATES[1]!, gcode: ';plate 2\nG28\n'.repeat(50) }],
  printerModel: 'Bambu Lab P1S',
  printerModelId: 'C12',
}

test('projects.upload runs Studio’s sequence in order and leaves a complete, printable project', async (t) => {
  const { cloud, client, requests } = await uploadCloud(t)
  await addDevice(cloud.s, 'ada@example.com', 'P1S0001', { dev_model_name: 'C12', dev_product_name: 'P1S' })
  const file = buildThreeMf(SLICED)
  const progress: UploadProgress[] = []
  const up = expectType<UploadedProject>(
    await client.projects.upload(file, { name: 'Bracket', fileName: 'Bracket.3mf', pollIntervalMs: 20, onProgress: (p) => progress.push(p) }),
  )

  const calls = requests.map((r) => `${r.method} ${r.url.replace(/\?.*/, '').replace(/\/\d+$/, '/{id}').replace(/^\/files\/.*/, '/files/…')}`)
  const polls = calls.filter((c) => c === 'GET /v1/iot-service/api/user/notification').length
  assert.ok(polls >= 1)
  assert.deepEqual(calls.slice(1), [
    'POST /v1/iot-service/api/user/project',
    'PUT /files/…',
    'PUT /v1/iot-service/api/user/notification',
    ...Array<string>(polls).fill('GET /v1/iot-service/api/user/notification'),
    'GET /v1/iot-service/api/user/project/{id}',
    'PATCH /v1/iot-service/api/user/project/{id}',
    'GET /v1/iot-service/api/user/upload',
    'PUT /files/…',
    'PATCH /v1/iot-service/api/user/project/{id}',
    'GET /v1/iot-service/api/user/project/{id}',
  ])
  assert.equal(requests.find((r) => r.url.startsWith('/v1/iot-service/api/user/upload'))!.url, `/v1/iot-service/api/user/upload?models=${up.model_id}_${up.profile_id}_2.3mf`)

  // Only the sliced plate got a print-ready file; the project reads as the file says.
  assert.deepEqual(up.plates, [2])
  assert.equal(up.project.project_id, up.project_id)
  assert.equal(up.project.name, 'Bracket')
  assert.equal(up.project.download_md5, md5(file))
  const profile = up.project.profiles.find((p) => p.profile_id === up.profile_id)!
  const context = profile.context as { plates: { index: number; prediction: number; weight: number; gcode: { name: string | null } }[] }
  assert.deepEqual(context.plates.map((p) => [p.index, p.prediction, p.weight, p.gcode.name]), [
    [1, 1800, 7.25, null],
    [2, 5025, 31.5, 'plate_2.gcode'],
  ])

  // Progress: every stage in order, and the bytes of both files counted up to their size.
  const stages = progress.map((p) => p.stage).filter((stage, i, all) => stage !== all[i - 1])
  assert.deepEqual(stages, ['create', 'upload', 'process', 'plate', 'done'])
  for (const stage of ['upload', 'plate'] as const) {
    const last = progress.filter((p) => p.stage === stage).at(-1)!
    assert.deepEqual([last.loaded, last.total], [file.length, file.length], stage)
  }
  assert.equal(progress.find((p) => p.stage === 'plate')!.plate, 2)

  // The file comes back byte for byte, without a token.
  const res = await client.projects.download(up.project_id)
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(file))

  // And the plate prints: the task takes its cover, weight and time from plate 2.
  const task = await client.user.createTask({ deviceId: 'P1S0001', modelId: up.model_id, profileId: Number(up.profile_id), plateIndex: 2, title: 'Bracket', mode: 'cloud_file' } as never)
  const hit = await client.user.task(task.id)
  assert.deepEqual([hit.weight, hit.costTime, hit.plateIndex], [31.5, 5025, 2])
  assert.ok(typeof hit.cover === 'string' && hit.cover.startsWith(`${cloud.baseUrl}/files/`), String(hit.cover))
})

test('projects.upload without progress sends the bytes as one body; a File names itself; plates can be chosen', async (t) => {
  const { client, requests } = await uploadCloud(t)
  const file = new File([new Uint8Array(buildThreeMf(SLICED))], 'Named.3mf')
  const up = await client.projects.upload(file, { name: 'Named', plates: [], pollIntervalMs: 20 })
  assert.deepEqual(up.plates, [])
  assert.ok(!requests.some((r) => r.url.startsWith('/v1/iot-service/api/user/upload')), 'no print-ready files asked for')
  const profile = up.project.profiles[0]!
  assert.equal((profile.context as { plates: unknown[] }).plates.length, 2)
  const full = await client.projects.profile(up.profile_id)
  assert.equal(full.filename, 'Named.3mf', 'the File’s own name is the origin file name')
})

test('projects.upload of a file the server cannot read rejects with the server’s reason', async (t) => {
  const { client } = await uploadCloud(t)
  await assert.rejects(
    client.projects.upload(Buffer.from('not a zip at all'), { name: 'Broken', pollIntervalMs: 20 }),
    (err) => err instanceof UnprocessableEntityError && err.code === 1016 && /zip|3MF/i.test(err.message),
  )
  const [project] = await client.projects.list()
  await assert.rejects(client.projects.download(project!.project_id), /has no file/)
})
