import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BoundDevice as BoundDeviceSchema, DevicePrint as DevicePrintSchema, DeviceVersionReply, TtcodeReply } from '@bambu-cloud/protocol'
import { PermissionDeniedError, type BoundDevice, type DeviceFirmware, type DevicePrint, type Ttcode } from '@bambu-cloud/client'
import { addDevice, report } from '../../../server/test/helpers/app.ts'
import { assertSchema, expectType, loggedIn, startCloud } from '../helpers/cloud.ts'

test('devices.list resolves to the devices array of user/bind, every field with its wire type', async (t) => {
  const cloud = await startCloud(t)
  const { client, account } = await loggedIn(cloud)
  assert.deepEqual(await client.devices.list(), [])
  const admin = await addDevice(cloud.s, account, '00M00A280102436', { name: 'Workshop X1C', nozzle_diameter: 0.6, dev_structure: 'corexy' })
  await cloud.s.admin({ method: 'POST', url: '/admin/v1/devices/00M00A280102436/online', payload: { online: true } })
  const devices = expectType<BoundDevice[]>(await client.devices.list())
  assert.ok(Array.isArray(devices))
  for (const d of devices) assertSchema(BoundDeviceSchema, d, 'device')
  assert.deepEqual(devices, [
    {
      dev_id: '00M00A280102436',
      name: 'Workshop X1C',
      online: true,
      print_status: 'IDLE',
      dev_model_name: 'BL-P001',
      dev_product_name: 'X1 Carbon',
      dev_access_code: admin.dev_access_code,
      nozzle_diameter: 0.6,
      print_job: null,
      dev_structure: 'corexy',
    },
  ])
})

test('devices.rename and devices.unbind change what list shows; someone else’s printer is 403', async (t) => {
  const cloud = await startCloud(t)
  const { client, account } = await loggedIn(cloud)
  await addDevice(cloud.s, account, 'A1')
  await addDevice(cloud.s, account, 'B2')
  expectType<void>(await client.devices.rename('B2', 'Garage P1S'))
  assert.deepEqual((await client.devices.list()).map((d) => [d.dev_id, d.name]).sort(), [['A1', 'Printer A1'], ['B2', 'Garage P1S']])

  const bob = await loggedIn(cloud, 'bob@example.com')
  await assert.rejects(bob.client.devices.rename('A1', 'mine now'), (err) => err instanceof PermissionDeniedError && err.code === 8 && err.error === 'Resource forbidden')
  await assert.rejects(bob.client.devices.unbind('A1'), PermissionDeniedError)

  expectType<void>(await client.devices.unbind('A1'))
  assert.deepEqual((await client.devices.list()).map((d) => d.dev_id), ['B2'])
  const admin = await cloud.s.admin({ method: 'GET', url: '/admin/v1/devices/A1' })
  assert.equal(admin.json().owner, null, 'unbound on the server')
})

test('devices.firmware: one printer’s or all printers’ current version and catalog, newest first', async (t) => {
  const cloud = await startCloud(t)
  const { client, account } = await loggedIn(cloud)
  await addDevice(cloud.s, account, 'DEV1', { firmware_version: '01.01.00.00' })
  await addDevice(cloud.s, account, 'DEV2', { dev_model_name: 'N2S', dev_product_name: 'A1' })
  for (const [model, version] of [['BL-P001', '01.01.00.00'], ['BL-P001', '01.02.00.00'], ['N2S', '01.00.00.05']]) {
    const res = await cloud.s.admin({ method: 'POST', url: '/admin/v1/firmware', payload: { dev_model_name: model, version, url: `https://fw.example.org/${version}.bin`, description: 'notes', force_update: false } })
    assert.equal(res.statusCode, 201)
  }
  const one = expectType<DeviceFirmware[]>(await client.devices.firmware('DEV1'))
  assertSchema(DeviceVersionReply, { message: 'success', code: null, error: null, devices: one })
  assert.deepEqual(one, [
    {
      dev_id: 'DEV1',
      version: '01.01.00.00',
      firmware: [
        { version: '01.02.00.00', force_update: false, url: 'https://fw.example.org/01.02.00.00.bin', description: 'notes' },
        { version: '01.01.00.00', force_update: false, url: 'https://fw.example.org/01.01.00.00.bin', description: 'notes' },
      ],
      ams: [],
    },
  ])
  const all = await client.devices.firmware()
  assert.deepEqual(all.map((d) => [d.dev_id, d.version, d.firmware.length]).sort(), [['DEV1', '01.01.00.00', 2], ['DEV2', null, 1]])
})

test('devices.printStatus: each printer’s live print, null task fields while idle', async (t) => {
  const cloud = await startCloud(t)
  const { client, account } = await loggedIn(cloud)
  await addDevice(cloud.s, account, 'IDLE1')
  await addDevice(cloud.s, account, 'BUSY1')
  await report(cloud.s, 'BUSY1', { gcode_state: 'RUNNING', subtask_name: 'Benchy', gcode_start_time: '1700000000', mc_percent: 40, mc_remaining_time: 30, task_id: '0' })
  const prints = expectType<DevicePrint[]>(await client.devices.printStatus())
  assert.equal(prints.length, 2)
  for (const p of prints) assertSchema(DevicePrintSchema, p, 'print')
  const busy = prints.find((p) => p.dev_id === 'BUSY1')!
  const idle = prints.find((p) => p.dev_id === 'IDLE1')!
  assert.equal(busy.task_status, 'RUNNING')
  assert.equal(busy.task_name, 'Benchy')
  assert.equal(busy.progress, 40)
  assert.equal(busy.prediction, 1800)
  assert.match(busy.task_id!, /^\d+$/)
  assert.equal(idle.dev_name, 'Printer IDLE1')
  for (const field of ['task_id', 'task_name', 'task_status', 'progress', 'prediction', 'start_time'] as const) assert.equal(idle[field], null, field)
})

test('devices.ttcode: the camera codes of one printer, stable per printer', async (t) => {
  const cloud = await startCloud(t)
  const { client, account } = await loggedIn(cloud)
  await addDevice(cloud.s, account, 'DEV1')
  const codes = expectType<Ttcode>(await client.devices.ttcode('DEV1'))
  assertSchema(TtcodeReply, codes)
  for (const k of ['ttcode', 'passwd', 'authkey', 'region'] as const) assert.equal(typeof codes[k], 'string', k)
  assert.deepEqual(await client.devices.ttcode('DEV1'), codes)
  const bob = await loggedIn(cloud, 'bob@example.com')
  await assert.rejects(bob.client.devices.ttcode('DEV1'), PermissionDeniedError)
})
