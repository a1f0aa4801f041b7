import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Static } from '@sinclair/typebox'
import type { DeviceVersionReply, ProjectDetailReply, SettingListReply, TtcodeReply } from '@bambu-cloud/protocol'
import { BambuCloud, REGION_BASE_URLS, type DeviceFirmware, type ProjectDetail, type SettingList, type Ttcode } from '@bambu-cloud/client'
import { json, startMock } from './helpers/mock.ts'

// Compile time: the SDK's wire types are exactly TypeBox's Static of the protocol's schemas.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const sameAsStatic: [
  Same<Ttcode, Static<typeof TtcodeReply>>,
  Same<SettingList, Static<typeof SettingListReply>>,
  Same<ProjectDetail, Static<typeof ProjectDetailReply>>,
  Same<DeviceFirmware, Static<typeof DeviceVersionReply>['devices'][number]>,
] = [true, true, true, true]

/** A fetch that never touches the network: records the URL and answers an empty device list. */
function recordingFetch(urls: string[]) {
  return async (input: string) => {
    urls.push(input)
    return new Response(JSON.stringify({ message: 'success', code: null, error: null, devices: [] }), { headers: { 'content-type': 'application/json' } })
  }
}

test('the region picks the real cloud’s host; baseUrl overrides it', async () => {
  assert.deepEqual(REGION_BASE_URLS, { global: 'https://api.bambulab.com', china: 'https://api.bambulab.cn' })
  const urls: string[] = []
  await new BambuCloud({ fetch: recordingFetch(urls) }).devices.list()
  await new BambuCloud({ region: 'china', fetch: recordingFetch(urls) }).devices.list()
  await new BambuCloud({ region: 'china', baseUrl: 'http://localhost:8080/', fetch: recordingFetch(urls) }).devices.list()
  assert.deepEqual(urls, [
    'https://api.bambulab.com/v1/iot-service/api/user/bind',
    'https://api.bambulab.cn/v1/iot-service/api/user/bind',
    'http://localhost:8080/v1/iot-service/api/user/bind',
  ])
  assert.equal(new BambuCloud().baseUrl, 'https://api.bambulab.com')
})

test('a baseUrl with a path prefix (the web host’s /api mirror) keeps it', async (t) => {
  const mock = await startMock(t, (_hit, res) => json(res, 200, { message: 'success', code: null, error: null, devices: [] }))
  const cloud = new BambuCloud({ baseUrl: `${mock.baseUrl}/api`, accessToken: 'a1' })
  assert.deepEqual(await cloud.devices.list(), [])
  assert.equal(mock.hits[0]!.url, '/api/v1/iot-service/api/user/bind')
})

test('tokens given to the constructor are used and readable', async (t) => {
  const mock = await startMock(t, (_hit, res) => json(res, 200, { message: 'success', code: null, error: null, devices: [] }))
  const cloud = new BambuCloud({ baseUrl: mock.baseUrl, accessToken: 'a1', refreshToken: 'r1' })
  assert.equal(cloud.accessToken, 'a1')
  assert.equal(cloud.refreshToken, 'r1')
  await cloud.devices.list()
  assert.equal(mock.hits[0]!.authorization, 'Bearer a1')
  const anonymous = new BambuCloud({ baseUrl: mock.baseUrl })
  await anonymous.devices.list()
  assert.equal(mock.hits[1]!.authorization, undefined)
})
