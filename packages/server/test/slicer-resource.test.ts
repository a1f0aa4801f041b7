import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, type TestApp } from './helpers/app.ts'

async function publish(s: TestApp, body: Record<string, unknown>) {
  const res = await s.admin({ method: 'POST', url: '/admin/v1/slicer/resources', payload: body })
  assert.equal(res.statusCode, 201, res.body)
  return res.json()
}

test('slicer/resource answers without a token, in the iot envelope, before anything is published', async (t) => {
  const s = await startTestApp(t)
  const res = await s.request({ method: 'GET', url: '/v1/iot-service/api/slicer/resource' })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { message: 'success', code: null, error: null, software: null, guide: null, resources: [] })
})

test('the newest software entry and newest resource per type, with the seed shape', async (t) => {
  const s = await startTestApp(t)
  await publish(s, { type: 'software', version: '01.03.00.25', url: 'https://dl.example.org/studio-1.3.0.25.exe', description: 'fixes', force_update: false })
  await publish(s, { type: 'software', version: '01.10.00.89', url: 'https://dl.example.org/studio-1.10.exe' })
  await publish(s, { type: 'slicer/plugins/cloud', version: '01.01.00.11', url: 'https://dl.example.org/plugin-11.zip' })
  await publish(s, { type: 'slicer/plugins/cloud', version: '01.01.00.09', url: 'https://dl.example.org/plugin-9.zip' })
  const body = (await s.request({ method: 'GET', url: '/v1/iot-service/api/slicer/resource' })).json()
  assert.deepEqual(body.software, { type: null, version: '01.10.00.89', description: '', url: 'https://dl.example.org/studio-1.10.exe', force_update: false })
  assert.equal(body.guide, null)
  assert.deepEqual(body.resources, [
    { type: 'slicer/plugins/cloud', version: '01.01.00.11', description: '', url: 'https://dl.example.org/plugin-11.zip', force_update: false },
  ])
})

test('type=version pairs return only newer resources of those types', async (t) => {
  const s = await startTestApp(t)
  await publish(s, { type: 'slicer/plugins/cloud', version: '01.01.00.11', url: 'https://dl.example.org/p.zip', force_update: true })
  await publish(s, { type: 'slicer/plugins/camera', version: '01.00.00.02', url: 'https://dl.example.org/c.zip' })
  const older = (await s.request({ method: 'GET', url: '/v1/iot-service/api/slicer/resource?slicer/plugins/cloud=01.01.00.00' })).json()
  assert.deepEqual(older.resources.map((r: { type: string; force_update: boolean }) => [r.type, r.force_update]), [['slicer/plugins/cloud', true]])
  const same = (await s.request({ method: 'GET', url: '/v1/iot-service/api/slicer/resource?slicer/plugins/cloud=01.01.00.11' })).json()
  assert.deepEqual(same.resources, [])
  const newer = (await s.request({ method: 'GET', url: '/v1/iot-service/api/slicer/resource?slicer/plugins/cloud=1.2.0.0' })).json()
  assert.deepEqual(newer.resources, [])
})

test('publishing validates the version and refuses duplicates', async (t) => {
  const s = await startTestApp(t)
  const bad = await s.admin({ method: 'POST', url: '/admin/v1/slicer/resources', payload: { type: 'software', version: '1.2', url: 'https://x' } })
  assert.equal(bad.statusCode, 400)
  await publish(s, { type: 'software', version: '01.02.03.04', url: 'https://x' })
  const dup = await s.admin({ method: 'POST', url: '/admin/v1/slicer/resources', payload: { type: 'software', version: '01.02.03.04', url: 'https://y' } })
  assert.equal(dup.statusCode, 409)
  assert.equal(dup.json().code, 1006)
})
