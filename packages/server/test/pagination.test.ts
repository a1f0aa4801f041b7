import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addDevice, bearer, getJson, report, startTestApp, type TestApp } from './helpers/app.ts'

async function seed(s: TestApp, count: number) {
  await s.createUser('pager@example.com')
  const { accessToken } = await s.login('pager@example.com')
  await addDevice(s, 'pager@example.com', 'EVEN')
  await addDevice(s, 'pager@example.com', 'ODD')
  const ids: number[] = []
  for (let i = 0; i < count; i++) {
    const res = await s.request({ method: 'POST', url: '/v1/user-service/my/task', headers: bearer(accessToken), payload: { deviceId: i % 2 ? 'ODD' : 'EVEN', title: `task ${i}` } })
    assert.equal(res.statusCode, 200)
    ids.push(res.json().id)
  }
  return { token: accessToken, ids }
}

test('paging with after through a few hundred tasks: newest first, no duplicates, no gaps', async (t) => {
  const s = await startTestApp(t)
  const { token, ids } = await seed(s, 300)
  const newestFirst = [...ids].sort((a, b) => b - a)
  assert.deepEqual(newestFirst, [...ids].reverse(), 'ids grow over time')

  const seen: number[] = []
  let after: number | undefined
  for (;;) {
    const page = await getJson(s, token, `/v1/user-service/my/tasks?limit=37${after ? `&after=${after}` : ''}`)
    assert.equal(page.total, 300, 'total counts every match, whatever the cursor')
    if (page.hits.length === 0) break
    seen.push(...page.hits.map((h: { id: number }) => h.id))
    after = page.hits.at(-1).id
  }
  assert.deepEqual(seen, newestFirst)

  // offset pages give the same sequence.
  const byOffset: number[] = []
  for (let offset = 0; offset < 300; offset += 50) {
    const page = await getJson(s, token, `/v1/user-service/my/tasks?limit=50&offset=${offset}`)
    byOffset.push(...page.hits.map((h: { id: number }) => h.id))
  }
  assert.deepEqual(byOffset, newestFirst)

  // offset counts from the cursor.
  const mixed = await getJson(s, token, `/v1/user-service/my/tasks?limit=5&after=${newestFirst[9]}&offset=3`)
  assert.deepEqual(mixed.hits.map((h: { id: number }) => h.id), newestFirst.slice(13, 18))

  const defaults = await getJson(s, token, '/v1/user-service/my/tasks')
  assert.equal(defaults.hits.length, 20)
})

test('deviceId and status filter hits and total; 0 or absent status means all', async (t) => {
  const s = await startTestApp(t)
  const { token } = await seed(s, 40)
  await report(s, 'ODD', { gcode_state: 'RUNNING', subtask_name: 'lan', gcode_start_time: '1700000000' })
  await report(s, 'ODD', { gcode_state: 'FINISH' })
  const odd = await getJson(s, token, '/v1/user-service/my/tasks?deviceId=ODD&limit=100')
  assert.equal(odd.total, 21)
  assert.ok(odd.hits.every((h: { deviceId: string }) => h.deviceId === 'ODD'))
  const finished = await getJson(s, token, '/v1/user-service/my/tasks?status=2')
  assert.equal(finished.total, 1)
  assert.equal(finished.hits[0].title, 'lan')
  const created = await getJson(s, token, '/v1/user-service/my/tasks?status=0&deviceId=')
  assert.equal(created.total, 41)
  const evenCreated = await getJson(s, token, '/v1/user-service/my/tasks?deviceId=EVEN&status=2')
  assert.deepEqual(evenCreated, { total: 0, hits: [] })
})

test('a limit above 500 is treated as 500', async (t) => {
  const s = await startTestApp(t)
  const { token } = await seed(s, 505)
  const page = await getJson(s, token, '/v1/user-service/my/tasks?limit=10000')
  assert.equal(page.total, 505)
  assert.equal(page.hits.length, 500)
  const bad = await s.request({ method: 'GET', url: '/v1/user-service/my/tasks?limit=-1', headers: bearer(token) })
  assert.equal(bad.statusCode, 400)
  const words = await s.request({ method: 'GET', url: '/v1/user-service/my/tasks?limit=many', headers: bearer(token) })
  assert.equal(words.statusCode, 400)
})

test('messages page the same way', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('pager@example.com')
  const { accessToken: token } = await s.login('pager@example.com')
  await addDevice(s, 'pager@example.com', 'DEV')
  for (let i = 0; i < 30; i++) {
    await report(s, 'DEV', { gcode_state: 'RUNNING', subtask_name: `p${i}`, gcode_start_time: String(1700000000 + i) })
    await report(s, 'DEV', { gcode_state: i % 3 ? 'FINISH' : 'FAILED' })
  }
  const seen: number[] = []
  let after: number | undefined
  for (;;) {
    const page = await getJson(s, token, `/v1/user-service/my/messages?type=6&limit=7${after ? `&after=${after}` : ''}`)
    if (page.hits.length === 0) break
    seen.push(...page.hits.map((h: { id: number }) => h.id))
    after = page.hits.at(-1).id
  }
  assert.equal(seen.length, 30)
  assert.deepEqual(seen, [...seen].sort((a, b) => b - a))
  assert.equal(new Set(seen).size, 30)
  const other = await getJson(s, token, '/v1/user-service/my/messages?type=1')
  assert.deepEqual(other.hits, [])
})
