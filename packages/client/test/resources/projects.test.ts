import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ProjectDetailReply, ProjectListItem as ProjectListItemSchema, ProjectProfileReply } from '@bambu-cloud/protocol'
import { BadRequestError, PermissionDeniedError, type ProjectDetail, type ProjectListItem, type ProjectProfileDetail } from '@bambu-cloud/client'
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
    [String(first.project_id), String(uid), 'Bracket', 'null'],
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
