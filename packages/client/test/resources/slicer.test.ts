import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SettingListReply, SettingReply, SettingSavedReply, SlicerResourceReply } from '@bambu-cloud/protocol'
import {
  BadRequestError,
  BambuCloud,
  PermissionDeniedError,
  UnprocessableEntityError,
  type Setting,
  type SettingList,
  type SettingSaved,
  type SlicerResources,
} from '@bambu-cloud/client'
import { assertSchema, clientOf, expectType, loggedIn, startCloud, type Cloud } from '../helpers/cloud.ts'

const VERSION = '01.10.00.89'

async function publishResource(cloud: Cloud, body: Record<string, unknown>) {
  const res = await cloud.s.admin({ method: 'POST', url: '/admin/v1/slicer/resources', payload: body })
  assert.equal(res.statusCode, 201, res.body)
}

test('slicer.resources needs no login; type=version pairs leave out what is not newer', async (t) => {
  const cloud = await startCloud(t)
  await publishResource(cloud, { type: 'software', version: '01.10.00.89', url: 'https://dl.example.org/studio.exe', description: 'fixes' })
  await publishResource(cloud, { type: 'slicer/plugins/cloud', version: '01.01.00.11', url: 'https://dl.example.org/p.zip', force_update: true })
  const { client, requests } = clientOf(cloud)
  const all = expectType<SlicerResources>(await client.slicer.resources())
  assertSchema(SlicerResourceReply, all)
  assert.deepEqual(all, {
    message: 'success',
    code: null,
    error: null,
    software: { type: null, version: '01.10.00.89', description: 'fixes', url: 'https://dl.example.org/studio.exe', force_update: false },
    guide: null,
    resources: [{ type: 'slicer/plugins/cloud', version: '01.01.00.11', description: '', url: 'https://dl.example.org/p.zip', force_update: true }],
  })
  assert.deepEqual((await client.slicer.resources({ 'slicer/plugins/cloud': '01.01.00.00' })).resources.map((r) => r.version), ['01.01.00.11'])
  assert.deepEqual((await client.slicer.resources({ 'slicer/plugins/cloud': '01.01.00.11' })).resources, [])
  assert.equal(requests.at(-1)!.url, '/v1/iot-service/api/slicer/resource?slicer%2Fplugins%2Fcloud=01.01.00.11')

  // A client holding a dead token still reads them: the token is not sent.
  const stale = new BambuCloud({ baseUrl: cloud.baseUrl, accessToken: 'revoked-token-0000000000000000000000', maxRetries: 0 })
  assert.equal((await stale.slicer.resources()).software?.version, '01.10.00.89')
})

test('slicer.settings: create, list, get, update, delete one of your presets', async (t) => {
  const cloud = await startCloud(t)
  const { client } = await loggedIn(cloud)
  const saved = expectType<SettingSaved>(
    await client.slicer.settings.create({ type: 'filament', name: 'My PETG', version: VERSION, base_id: 'GFSG99', filament_id: 'GFG99', setting: { nozzle_temperature: ['245'] } }),
  )
  assertSchema(SettingSavedReply, saved)
  assert.match(saved.setting_id, /^PFUS/)
  assert.match(saved.update_time, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)

  const list = expectType<SettingList>(await client.slicer.settings.list({ version: VERSION }))
  assertSchema(SettingListReply, list)
  assert.deepEqual(list.filament.private.map((s) => [s.setting_id, s.name, s.filament_id]), [[saved.setting_id, 'My PETG', 'GFG99']])
  assert.deepEqual([list.print.private, list.printer.private], [[], []])
  const own = await client.slicer.settings.list({ version: VERSION, public: false })
  assert.deepEqual(own.filament.public, [])
  assert.equal(own.filament.private.length, 1)

  const full = expectType<Setting>(await client.slicer.settings.get(saved.setting_id))
  assertSchema(SettingReply, full)
  assert.equal(full.public, false)
  assert.equal(full.type, 'filament')
  assert.equal(full.base_id, 'GFSG99')
  assert.deepEqual(full.setting, { nozzle_temperature: ['245'] })

  const updated = expectType<SettingSaved>(await client.slicer.settings.update(saved.setting_id, { name: 'My PETG, slower', setting: { nozzle_temperature: ['240'] } }))
  assert.equal(updated.setting_id, saved.setting_id)
  const after = await client.slicer.settings.get(saved.setting_id)
  assert.equal(after.name, 'My PETG, slower')
  assert.deepEqual(after.setting, { nozzle_temperature: ['240'] })

  const bob = await loggedIn(cloud, 'bob@example.com')
  await assert.rejects(bob.client.slicer.settings.get(saved.setting_id), (err) => err instanceof PermissionDeniedError && err.code === 8)
  await assert.rejects(bob.client.slicer.settings.delete(saved.setting_id), PermissionDeniedError)

  expectType<void>(await client.slicer.settings.delete(saved.setting_id))
  expectType<void>(await client.slicer.settings.delete(saved.setting_id))
  await assert.rejects(client.slicer.settings.get(saved.setting_id), BadRequestError)
  assert.deepEqual((await client.slicer.settings.list({ version: VERSION })).filament.private, [])
})

test('slicer.settings.list with a malformed version is UnprocessableEntityError (422)', async (t) => {
  const cloud = await startCloud(t)
  const { client } = await loggedIn(cloud)
  const err = await client.slicer.settings.list({ version: '1.10' }).catch((e: unknown) => e)
  assert.ok(err instanceof UnprocessableEntityError)
  assert.equal(err.status, 422)
  assert.equal(err.error, 'Invalid input parameters')
})

test('path parameters are encoded: an id with / and ? stays one segment', async (t) => {
  const cloud = await startCloud(t)
  const { client, requests } = await loggedIn(cloud)
  // Unencoded, this would be another route (404); encoded, it is an unknown preset id (400).
  await assert.rejects(client.slicer.settings.get('PFUS/x?y=1'), BadRequestError)
  assert.equal(requests.at(-1)!.url, '/v1/iot-service/api/slicer/setting/PFUS%2Fx%3Fy%3D1')
})
