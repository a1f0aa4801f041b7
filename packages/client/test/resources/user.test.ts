import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CreateTaskReply, MessageHit as MessageHitSchema, Preference as PreferenceSchema, Profile as ProfileSchema, TaskHit as TaskHitSchema, TasksReply } from '@bambu-cloud/protocol'
import { PermissionDeniedError, type CreatedTask, type MessageHit, type MessagesPage, type Preference, type Profile, type TaskHit, type TasksPage } from '@bambu-cloud/client'
import { addDevice, report } from '../../../server/test/helpers/app.ts'
import { assertSchema, expectType, loggedIn, startCloud } from '../helpers/cloud.ts'

test('user.profile and user.preference: who the client is, with the wire types', async (t) => {
  const cloud = await startCloud(t)
  const { client, uid } = await loggedIn(cloud)
  const profile = expectType<Profile>(await client.user.profile())
  assertSchema(ProfileSchema, profile)
  assert.deepEqual(profile, { uid, uidStr: String(uid), account: 'ada@example.com', name: profile.name, avatar: profile.avatar, setting: {} })
  assert.equal(typeof profile.name, 'string')

  const preference = expectType<Preference>(await client.user.preference())
  assertSchema(PreferenceSchema, preference)
  assert.equal(preference.uid, uid)
  assert.ok(Array.isArray(preference.links))
})

test('user.createTask, user.task and user.tasks.list: create, read back, filter, count', async (t) => {
  const cloud = await startCloud(t)
  const { client, account } = await loggedIn(cloud)
  await addDevice(cloud.s, account, 'DEV1')
  await addDevice(cloud.s, account, 'DEV2')
  const created: number[] = []
  for (let i = 0; i < 5; i++) {
    const reply = expectType<CreatedTask>(await client.user.createTask({ deviceId: i % 2 ? 'DEV2' : 'DEV1', title: `part ${i}`, weight: 1.5 + i, amsMapping: [i] }))
    assertSchema(CreateTaskReply, reply)
    assert.deepEqual(Object.keys(reply), ['id'])
    created.push(reply.id)
  }

  const one = expectType<TaskHit>(await client.user.task(created[3]!))
  assertSchema(TaskHitSchema, one)
  assert.equal(one.id, created[3])
  assert.equal(one.title, 'part 3')
  assert.equal(one.deviceId, 'DEV2')
  assert.equal(one.weight, 4.5)
  assert.deepEqual(one.amsMapping, [3], 'fields the API does not define are kept')

  const all = expectType<TasksPage>(await client.user.tasks.list())
  assertSchema(TasksReply, all)
  assert.equal(all.total, 5)
  assert.deepEqual(all.hits.map((h) => h.id), [...created].reverse())

  const dev1 = await client.user.tasks.list({ deviceId: 'DEV1', limit: 2 })
  assert.equal(dev1.total, 3)
  assert.deepEqual(dev1.hits.map((h) => h.title), ['part 4', 'part 2'])
  const rest = await client.user.tasks.list({ deviceId: 'DEV1', after: dev1.hits[1]!.id })
  assert.deepEqual(rest.hits.map((h) => h.title), ['part 0'])

  // Someone else's device or task: 403 code 8.
  const other = await loggedIn(cloud, 'bob@example.com')
  await assert.rejects(other.client.user.task(created[0]!), (err) => err instanceof PermissionDeniedError && err.code === 8)
  await assert.rejects(other.client.user.createTask({ deviceId: 'DEV1' }), PermissionDeniedError)
})

test('user.tasks.iterate pages through every task with the after cursor, filtered by deviceId and status', async (t) => {
  const cloud = await startCloud(t)
  const { client, account, requests } = await loggedIn(cloud)
  await addDevice(cloud.s, account, 'DEV1')
  await addDevice(cloud.s, account, 'DEV2')
  const ids: Record<string, number[]> = { DEV1: [], DEV2: [] }
  for (let i = 0; i < 11; i++) {
    const deviceId = i < 8 ? 'DEV1' : 'DEV2'
    ids[deviceId]!.push((await client.user.createTask({ deviceId, title: `t${i}` })).id)
  }

  requests.length = 0
  const seen: TaskHit[] = []
  for await (const task of client.user.tasks.iterate({ deviceId: 'DEV1', pageSize: 3 })) seen.push(expectType<TaskHit>(task))
  assert.deepEqual(seen.map((h) => h.id), [...ids.DEV1!].reverse())
  const newest = [...ids.DEV1!].reverse()
  assert.deepEqual(requests.map((r) => r.url), [
    '/v1/user-service/my/tasks?deviceId=DEV1&limit=3',
    `/v1/user-service/my/tasks?deviceId=DEV1&limit=3&after=${newest[2]}`,
    `/v1/user-service/my/tasks?deviceId=DEV1&limit=3&after=${newest[5]}`,
  ], 'stops once total is reached')

  const everything: number[] = []
  for await (const task of client.user.tasks.iterate()) everything.push(task.id)
  assert.deepEqual(everything, [...ids.DEV1!, ...ids.DEV2!].sort((a, b) => b - a))

  // A print that finishes on DEV2 makes its task status 2.
  await report(cloud.s, 'DEV2', { gcode_state: 'RUNNING', task_id: String(ids.DEV2![0]), subtask_name: 't8' })
  await report(cloud.s, 'DEV2', { gcode_state: 'FINISH' })
  const finished: TaskHit[] = []
  for await (const task of client.user.tasks.iterate({ status: 2, pageSize: 1 })) finished.push(task)
  assert.deepEqual(finished.map((h) => [h.id, h.status]), [[ids.DEV2![0], 2]])

  // Leaving early stops fetching.
  requests.length = 0
  for await (const task of client.user.tasks.iterate({ pageSize: 2 })) {
    assert.equal(task.id, Math.max(...ids.DEV2!))
    break
  }
  assert.equal(requests.length, 1)
})

test('user.messages.list and iterate: the type-6 notices of finished and failed prints, newest first', async (t) => {
  const cloud = await startCloud(t)
  const { client, account } = await loggedIn(cloud)
  await addDevice(cloud.s, account, 'DEV1')
  const empty = expectType<MessagesPage>(await client.user.messages.list())
  assert.deepEqual(empty, { hits: [] })
  for (const [name, end] of [['one', 'FINISH'], ['two', 'FAILED'], ['three', 'FINISH']] as const) {
    await report(cloud.s, 'DEV1', { gcode_state: 'RUNNING', subtask_name: name, gcode_start_time: String(1_700_000_000 + name.length), task_id: '0' })
    await report(cloud.s, 'DEV1', { gcode_state: end })
  }
  const page = await client.user.messages.list({ type: 6, limit: 2 })
  assert.equal(page.hits.length, 2)
  for (const hit of page.hits) assertSchema(MessageHitSchema, hit, 'message')
  assert.deepEqual(page.hits.map((h) => [h.type, h.taskMessage?.title, h.taskMessage?.deviceId]), [[6, 'three', 'DEV1'], [6, 'two', 'DEV1']])
  assert.deepEqual(page.hits.map((h) => h.taskMessage?.status), [2, 3])

  const all: MessageHit[] = []
  for await (const message of client.user.messages.iterate({ type: 6, pageSize: 2 })) all.push(expectType<MessageHit>(message))
  assert.deepEqual(all.map((h) => h.taskMessage?.title), ['three', 'two', 'one'])
  assert.ok(all[0]!.id > all[1]!.id && all[1]!.id > all[2]!.id)
  const none: MessageHit[] = []
  for await (const message of client.user.messages.iterate({ type: 5 })) none.push(message)
  assert.deepEqual(none, [])
})
