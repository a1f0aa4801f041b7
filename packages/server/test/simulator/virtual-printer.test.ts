/**
 * A virtual printer in LAN mode, seen only from outside: an MQTT client on its TLS broker
 * and basic-ftp on its FTPS storage, as Bambu Studio or a LAN bridge would use them.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pushallRequest, printControlRequest, projectFileRequest, type PrintReport, type ProjectFileParams } from '@bambu-cloud/protocol'
import { PRINT_ERRORS } from '../../src/simulator/print-report.ts'
import { ACCESS_CODE, connectLan, startLanPrinter, uploadOverFtps, type LanSetup } from './helpers.ts'

const MODEL_FILE = Buffer.from('PK\u0003\u0004 not really a zip, only its md5 matters to the printer')

function localPrint(overrides: Partial<ProjectFileParams> = {}): ProjectFileParams {
  return {
    param: 'Metadata/plate_1.gcode',
    url: 'ftp:///cube.3mf',
    md5: '',
    project_id: '0',
    profile_id: '0',
    task_id: '0',
    subtask_id: '0',
    subtask_name: 'cube',
    ...overrides,
  }
}

/** Uploads the model and starts printing it; resolves with the acknowledgement. */
async function startPrint(setup: LanSetup, overrides: Partial<ProjectFileParams> = {}, sequenceId = '100') {
  const md5 = await uploadOverFtps(setup.lan.ftpsPort, '/cube.3mf', MODEL_FILE)
  const from = setup.reports.mark()
  await setup.request(projectFileRequest(localPrint({ md5, ...overrides }), sequenceId))
  return { ack: await setup.reports.waitForAck('print', 'project_file', sequenceId, from), from }
}

/** The gcode_state values reports went through, repeats folded. */
function states(reports: PrintReport[]): string[] {
  const seen: string[] = []
  for (const r of reports) if (typeof r.gcode_state === 'string' && r.gcode_state !== seen.at(-1)) seen.push(r.gcode_state)
  return seen
}

test('the LAN broker takes bblp with the access code and refuses anything else', async (t) => {
  const { lan } = await startLanPrinter(t)
  const good = await connectLan(lan.mqttPort, 'bblp', ACCESS_CODE)
  await good.endAsync()
  await assert.rejects(connectLan(lan.mqttPort, 'bblp', 'wrong'), /Bad username or password/)
  await assert.rejects(connectLan(lan.mqttPort, 'admin', ACCESS_CODE), /Bad username or password/)
})

test('pushall answers with the full print object and the request’s sequence_id', async (t) => {
  const { reports, request } = await startLanPrinter(t, { reportIntervalMs: 60_000 })
  await request(pushallRequest('77'))
  const full = await reports.waitForPrint('the pushall answer', (p) => p.sequence_id === '77')
  assert.equal(full.command, 'push_status')
  assert.equal(full.gcode_state, 'IDLE')
  for (const field of ['mc_percent', 'mc_remaining_time', 'layer_num', 'total_layer_num', 'print_error', 'nozzle_temper', 'bed_temper', 'nozzle_target_temper', 'bed_target_temper']) {
    assert.equal(typeof full[field], 'number', field)
  }
  for (const field of ['subtask_name', 'gcode_file', 'task_id', 'subtask_id', 'project_id', 'profile_id', 'print_type', 'nozzle_diameter', 'wifi_signal', 'gcode_start_time']) {
    assert.equal(typeof full[field], 'string', field)
  }
  assert.deepEqual(full.hms, [])
  assert.equal(full.nozzle_diameter, '0.4')
  assert.equal(full.print_error, 0)
  assert.ok(typeof full.ams === 'object' && full.ams !== null)
})

test('get_version lists the modules with the same sequence_id', async (t) => {
  const { reports, request } = await startLanPrinter(t, { firmware: '01.07.00.00' })
  await request({ info: { sequence_id: '5', command: 'get_version' } })
  const info = await reports.waitFor('the version report', (m) => m.info?.command === 'get_version')
  assert.equal(info.info!.sequence_id, '5')
  const modules = info.info!.module as Array<Record<string, string>>
  assert.deepEqual(modules.find((m) => m.name === 'ota')?.sw_ver, '01.07.00.00')
  assert.ok(modules.every((m) => typeof m.sw_ver === 'string' && typeof m.hw_ver === 'string' && typeof m.sn === 'string'))
})

test('an uploaded file prints: PREPARE, RUNNING, FINISH, with the request’s ids as strings', async (t) => {
  const setup = await startLanPrinter(t)
  const finished = new Promise((resolve) => setup.printer.once('finished', resolve))
  const ids = { task_id: '4242', subtask_id: '4243', project_id: '17', profile_id: '18', subtask_name: 'Benchy' }
  const { ack, from } = await startPrint(setup, ids)
  assert.equal(ack.result, 'success')
  assert.equal(ack.reason, '')
  assert.equal(ack.url, 'ftp:///cube.3mf', 'the answer echoes the request')

  await setup.reports.waitForPrint('FINISH', (p) => p.gcode_state === 'FINISH', from)
  await finished
  const seen = setup.reports.prints(from)
  assert.deepEqual(states(seen), ['PREPARE', 'RUNNING', 'FINISH'])
  const percents = seen.flatMap((p) => (typeof p.mc_percent === 'number' ? [p.mc_percent] : []))
  assert.equal(percents.at(-1), 100)
  assert.deepEqual(percents, [...percents].sort((a, b) => a - b), 'progress only goes up')
  const remaining = seen.flatMap((p) => (typeof p.mc_remaining_time === 'number' ? [p.mc_remaining_time] : []))
  assert.equal(remaining[0], 10, 'a ten-minute print starts with ten minutes left')
  assert.equal(remaining.at(-1), 0)

  const state = setup.printer.state
  assert.equal(state.gcode_state, 'FINISH')
  assert.equal(state.layer_num, state.total_layer_num)
  assert.ok((state.total_layer_num ?? 0) > 0)
  assert.equal(state.print_type, 'local')
  assert.equal(state.gcode_file, 'cube.3mf')
  for (const [field, value] of Object.entries(ids)) assert.equal(state[field], value, field)
  assert.equal(state.print_error, 0)
})

test('numeric ids in a request come back as strings', async (t) => {
  const setup = await startLanPrinter(t)
  const { ack } = await startPrint(setup, { task_id: 12 as unknown as string, subtask_id: 13 as unknown as string })
  assert.equal(ack.result, 'success')
  const prepare = await setup.reports.waitForPrint('PREPARE', (p) => p.gcode_state === 'PREPARE')
  assert.equal(prepare.task_id, '12')
  assert.equal(prepare.subtask_id, '13')
})

test('pause holds progress, resume continues, stop leaves FAILED with progress frozen', async (t) => {
  // An hour-long print: six real seconds, plenty of time to pause it halfway through.
  const setup = await startLanPrinter(t, { printSeconds: 3600 })
  const { reports, request, printer } = setup
  const { from } = await startPrint(setup)
  await reports.waitForPrint('some progress', (p) => typeof p.mc_percent === 'number' && p.mc_percent >= 2, from)

  const beforePause = reports.mark()
  await request(printControlRequest('pause', '201'))
  assert.equal((await reports.waitForAck('print', 'pause', '201', beforePause)).result, 'success')
  await reports.waitForPrint('PAUSE', (p) => p.gcode_state === 'PAUSE', beforePause)
  const pausedAt = printer.state.mc_percent
  const whilePaused = reports.mark()
  const quiet = await reports.waitForReports(10, whilePaused)
  assert.ok(quiet.every((p) => p.mc_percent === undefined && p.layer_num === undefined), 'no progress while paused')
  assert.equal(printer.state.mc_percent, pausedAt)
  assert.equal(printer.state.gcode_state, 'PAUSE')

  const beforeResume = reports.mark()
  await request(printControlRequest('resume', '202'))
  assert.equal((await reports.waitForAck('print', 'resume', '202', beforeResume)).result, 'success')
  await reports.waitForPrint('RUNNING again', (p) => p.gcode_state === 'RUNNING', beforeResume)
  await reports.waitForPrint('progress after resuming', (p) => typeof p.mc_percent === 'number' && p.mc_percent > (pausedAt ?? 0), beforeResume)

  const beforeStop = reports.mark()
  await request(printControlRequest('stop', '203'))
  assert.equal((await reports.waitForAck('print', 'stop', '203', beforeStop)).result, 'success')
  const failed = await reports.waitForPrint('FAILED', (p) => p.gcode_state === 'FAILED', beforeStop)
  assert.equal(failed.print_error, PRINT_ERRORS.cancelled)
  const stoppedAt = printer.state.mc_percent
  assert.ok((stoppedAt ?? 0) > 0 && (stoppedAt ?? 100) < 100)
  const afterStop = reports.mark()
  const later = await reports.waitForReports(10, afterStop)
  assert.ok(later.every((p) => p.mc_percent === undefined), 'progress stays frozen')
  assert.equal(printer.state.mc_percent, stoppedAt)
  assert.equal(printer.state.gcode_state, 'FAILED')
})

test('pause, resume and stop are refused when they do not apply', async (t) => {
  const { reports, request, printer } = await startLanPrinter(t)
  for (const [command, sequenceId] of [['pause', '1'], ['resume', '2'], ['stop', '3']] as const) {
    await request(printControlRequest(command, sequenceId))
    const ack = await reports.waitForAck('print', command, sequenceId)
    assert.equal(ack.result, 'failed', command)
    assert.match(String(ack.reason), /no (paused )?print/, command)
  }
  assert.equal(printer.state.gcode_state, 'IDLE')
})

test('a second project_file while printing is refused', async (t) => {
  const setup = await startLanPrinter(t, { printSeconds: 3600 })
  await startPrint(setup, {}, '1')
  const from = setup.reports.mark()
  await setup.request(projectFileRequest(localPrint(), '2'))
  const ack = await setup.reports.waitForAck('print', 'project_file', '2', from)
  assert.equal(ack.result, 'failed')
  assert.match(String(ack.reason), /already/)
  assert.notEqual(setup.printer.state.gcode_state, 'FAILED')
})

test('an md5 that does not match the stored file fails the print', async (t) => {
  const setup = await startLanPrinter(t)
  const failed = new Promise<string>((resolve) => setup.printer.once('failed', resolve))
  const { ack, from } = await startPrint(setup, { md5: 'F'.repeat(32) })
  assert.equal(ack.result, 'failed')
  assert.match(String(ack.reason), /md5/)
  const report = await setup.reports.waitForPrint('FAILED', (p) => p.gcode_state === 'FAILED', from)
  assert.equal(report.print_error, PRINT_ERRORS.fileMismatch)
  assert.match(await failed, /md5/)
})

test('the md5 is compared without regard to case', async (t) => {
  const setup = await startLanPrinter(t)
  const md5 = await uploadOverFtps(setup.lan.ftpsPort, '/cache/upper.3mf', MODEL_FILE)
  await setup.request(projectFileRequest(localPrint({ url: 'ftp:///cache/upper.3mf', md5: md5.toUpperCase() }), '9'))
  const ack = await setup.reports.waitForAck('print', 'project_file', '9')
  assert.equal(ack.result, 'success')
  await setup.reports.waitForPrint('PREPARE', (p) => p.gcode_state === 'PREPARE' && p.gcode_file === 'upper.3mf')
})

test('a file that was never uploaded fails the print', async (t) => {
  const { reports, request, printer } = await startLanPrinter(t)
  await request(projectFileRequest(localPrint({ url: 'ftp:///missing.3mf' }), '3'))
  const ack = await reports.waitForAck('print', 'project_file', '3')
  assert.equal(ack.result, 'failed')
  assert.match(String(ack.reason), /not found/)
  const report = await reports.waitForPrint('FAILED', (p) => p.gcode_state === 'FAILED')
  assert.equal(report.print_error, PRINT_ERRORS.fileNotFound)
  assert.equal(printer.state.subtask_name, 'cube')
})

test('a param that names no plate is refused and the printer stays idle', async (t) => {
  const setup = await startLanPrinter(t)
  const { ack } = await startPrint(setup, { param: 'plate_1.gcode' })
  assert.equal(ack.result, 'failed')
  assert.match(String(ack.reason), /plate/)
  assert.equal(setup.printer.state.gcode_state, 'IDLE')
})

test('stock firmware outside developer mode refuses project_file', async (t) => {
  const setup = await startLanPrinter(t, { refuseProjectFile: true })
  const { ack } = await startPrint(setup, {}, '1')
  assert.equal(ack.result, 'failed')
  assert.match(String(ack.reason), /Developer Mode/)
  assert.equal(setup.printer.state.gcode_state, 'IDLE')

  setup.printer.refuseProjectFile = false
  const from = setup.reports.mark()
  await setup.request(projectFileRequest(localPrint(), '2'))
  assert.equal((await setup.reports.waitForAck('print', 'project_file', '2', from)).result, 'success')
})

test('fail() ends the print FAILED with a print_error and an HMS entry', async (t) => {
  const setup = await startLanPrinter(t, { printSeconds: 3600 })
  assert.equal(setup.printer.fail(), false, 'nothing to fail while idle')
  const { from } = await startPrint(setup)
  await setup.reports.waitForPrint('RUNNING', (p) => p.gcode_state === 'RUNNING', from)
  const reason = new Promise<string>((resolve) => setup.printer.once('failed', resolve))
  const before = setup.reports.mark()
  assert.equal(setup.printer.fail('spaghetti'), true)
  assert.equal(await reason, 'spaghetti')
  const report = await setup.reports.waitForPrint('FAILED', (p) => p.gcode_state === 'FAILED', before)
  assert.equal(report.print_error, PRINT_ERRORS.scripted)
  assert.equal((report.hms as unknown[]).length, 1)
  const [entry] = report.hms as Array<{ attr: number; code: number }>
  assert.equal(typeof entry!.attr, 'number')
  assert.equal(typeof entry!.code, 'number')
})

test('partial reports (P1 style) carry only what changed after the full answer', async (t) => {
  const setup = await startLanPrinter(t)
  await setup.request(pushallRequest('1'))
  const full = await setup.reports.waitForPrint('the pushall answer', (p) => p.sequence_id === '1')
  assert.ok(Object.keys(full).length > 40)

  const idle = await setup.reports.waitForReports(5, setup.reports.mark())
  for (const report of idle) assert.deepEqual(Object.keys(report).sort(), ['command', 'sequence_id'])

  const { from } = await startPrint(setup)
  await setup.reports.waitForPrint('FINISH', (p) => p.gcode_state === 'FINISH', from)
  const during = setup.reports.prints(from).filter((p) => p.command === 'push_status')
  const starting = during.find((p) => p.gcode_state === 'PREPARE')!
  assert.equal(starting.subtask_name, 'cube')
  for (const report of during) {
    for (const unchanged of ['nozzle_diameter', 'wifi_signal', 'xcam', 'ams', 'lights_report']) assert.equal(report[unchanged], undefined, unchanged)
  }
  // Periodic reports number themselves; they never repeat.
  const sequence = during.map((p) => Number(p.sequence_id))
  assert.equal(new Set(sequence).size, sequence.length)
})

test('full reports (X1 style) carry the whole object every time', async (t) => {
  const setup = await startLanPrinter(t, { partialReports: false })
  const reports = await setup.reports.waitForReports(3, setup.reports.mark())
  for (const report of reports) {
    assert.equal(report.gcode_state, 'IDLE')
    assert.equal(report.nozzle_diameter, '0.4')
    assert.ok(Object.keys(report).length > 40)
  }
})

test('garbage is ignored and unknown commands are answered as unsupported', async (t) => {
  const { client, reports, request, printer } = await startLanPrinter(t)
  const topic = `device/${printer.devId}/request`
  for (const junk of ['not json', '[]', '42', 'null', '{}', '{"print": 5}', '{"print": [1]}', '\u0000\u00ff']) {
    await client.publishAsync(topic, junk, { qos: 1 })
  }
  await request({ print: { sequence_id: '31', command: 'gcode_line', param: 'G28' } })
  const ack = await reports.waitForAck('print', 'gcode_line', '31')
  assert.equal(ack.result, 'failed')
  assert.equal(ack.reason, 'unsupported')
  assert.equal(ack.param, 'G28')
  await request({ camera: { sequence_id: '32', command: 'ipcam_record_set', control: 'enable' } })
  assert.equal((await reports.waitForAck('camera', 'ipcam_record_set', '32')).result, 'failed')

  await request(pushallRequest('33'))
  const full = await reports.waitForPrint('pushall after garbage', (p) => p.sequence_id === '33')
  assert.equal(full.gcode_state, 'IDLE')
})

test('a LAN client may subscribe to # but publish only requests', async (t) => {
  const { lan, printer } = await startLanPrinter(t)
  const watcher = await connectLan(lan.mqttPort, 'bblp', ACCESS_CODE)
  t.after(() => watcher.endAsync(true))
  await watcher.subscribeAsync('#')
  const seen = new Promise<string>((resolve) => watcher.once('message', (topic) => resolve(topic)))
  assert.equal(await seen, `device/${printer.devId}/report`)

  // Publishing elsewhere gets the client disconnected.
  const intruder = await connectLan(lan.mqttPort, 'bblp', ACCESS_CODE)
  t.after(() => intruder.endAsync(true))
  const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()))
  intruder.publish(`device/${printer.devId}/report`, JSON.stringify({ print: { gcode_state: 'FINISH' } }))
  await closed
  assert.equal(printer.state.gcode_state, 'IDLE')
})
