import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addDevice, startTestApp, type TestApp } from './helpers/app.ts'
import { eventually, startBroker } from './helpers/mqtt.ts'
import { combineReports, foldReports } from '../src/services/device-state.ts'

/** Two prints in a row as a P1 printer reports them: only what changed, with the state changes in between. */
const PRINTS: Record<string, unknown>[] = [
  { print: { command: 'push_status', gcode_state: 'IDLE', mc_percent: 0, nozzle_temper: 25, ams: { tray_now: '255', humidity: '4' } } },
  { print: { command: 'push_status', gcode_state: 'PREPARE', subtask_name: 'Benchy', gcode_file: 'benchy.gcode', gcode_start_time: '1700000000', task_id: '0' } },
  { print: { command: 'push_status', nozzle_temper: 180 } },
  { print: { command: 'push_status', gcode_state: 'RUNNING', mc_percent: 1, mc_remaining_time: 60 } },
  { print: { command: 'push_status', mc_percent: 2, mc_remaining_time: 58, nozzle_temper: 220 } },
  { info: { command: 'get_version', module: [{ name: 'ota', sw_ver: '01.08.00.00' }] } },
  { print: { command: 'push_status', mc_percent: 3, ams: { tray_now: '1', ams: [{ id: '0' }] } } },
  { system: { command: 'ledctrl', result: 'success' } },
  // A value turning into an object replaces what was there, it does not merge into it.
  { print: { command: 'push_status', mc_percent: 50, nozzle_temper: { current: 220, target: 220 }, ams: null } },
  { print: { command: 'push_status', ams: { tray_now: '2' } } },
  { print: { command: 'push_status', gcode_state: 'PAUSE' } },
  { print: { command: 'push_status', gcode_state: 'RUNNING', mc_percent: 60 } },
  { print: { command: 'push_status', mc_percent: 100, mc_remaining_time: 0 } },
  { print: { command: 'push_status', gcode_state: 'FINISH' } },
  { print: { command: 'push_status', gcode_state: 'PREPARE', subtask_name: 'Cube', gcode_file: 'cube.gcode', gcode_start_time: '1700003600', mc_percent: 0 } },
  { print: { command: 'push_status', gcode_state: 'RUNNING', mc_percent: 10 } },
  { print: { command: 'push_status', gcode_state: 'FAILED', print_error: 50348044 } },
  { print: { command: 'push_status', gcode_state: 'IDLE' } },
]

/** What a device's reports left behind: its row, its tasks and its messages. */
async function outcome(s: TestApp, devId: string) {
  const device = await s.app.services.devices.get(devId)
  const tasks = await s.database.db
    .selectFrom('tasks')
    .select(['id', 'title', 'status', 'mode', 'start_time', 'end_time'])
    .where('device_id', '=', devId)
    .orderBy('id')
    .execute()
  const messages = await s.database.db.selectFrom('messages').select(['task_id', 'type']).where('task_id', 'in', [0, ...tasks.map((t) => t.id)]).orderBy('id').execute()
  const byTask = new Map(tasks.map((t, i) => [t.id, i]))
  return {
    state: JSON.parse(device!.state),
    print_status: device!.print_status,
    progress: device!.progress,
    remaining_minutes: device!.remaining_minutes,
    firmware_version: device!.firmware_version,
    current_task: device!.current_task_id === null ? null : byTask.get(device!.current_task_id),
    tasks: tasks.map(({ id: _, ...rest }) => rest),
    messages: messages.map((m) => ({ task: byTask.get(m.task_id!), type: m.type })),
  }
}

test('a burst of reports recorded in one batch leaves exactly what recording them one by one does', async (t) => {
  const s = await startTestApp(t)
  // No timed flush: everything is written together when the broker closes.
  const broker = await startBroker(s, { flushEvery: 3_600_000 })
  await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'ONE')
  await addDevice(s, 'owner@example.com', 'BATCH')

  for (const report of PRINTS) await s.app.services.deviceState.applyReport('ONE', report)
  for (const report of PRINTS) broker.publishReport('BATCH', Buffer.from(JSON.stringify(report)))
  await eventually(() => broker.stats().reports.accepted === PRINTS.length)
  await broker.close()

  const one = await outcome(s, 'ONE')
  const batch = await outcome(s, 'BATCH')
  assert.deepEqual(batch, one)
  // And what that is: both prints ended (finished, failed), each with its message.
  assert.deepEqual(
    one.tasks.map((task) => [task.title, task.status]),
    [
      ['Benchy', 2],
      ['Cube', 3],
    ],
  )
  assert.equal(one.messages.length, 2)
  assert.equal(one.firmware_version, '01.08.00.00')
  assert.deepEqual(one.state.print.nozzle_temper, { current: 220, target: 220 })
  assert.deepEqual(one.state.print.ams, { tray_now: '2' })
})

test('more reports than one printer’s queue holds are folded, not dropped: the state equals applying each in turn', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s, { flushEvery: 3_600_000 })
  await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'ONE')
  await addDevice(s, 'owner@example.com', 'FLOOD')
  // Each a step of its own (the state flips, or it answers a request), each leaving a field no other report sets.
  const flood = Array.from({ length: 250 }, (_, i) =>
    i % 10 === 9
      ? { print: { command: 'pause', sequence_id: String(i), result: 'success' } }
      : { print: { command: 'push_status', gcode_state: i % 2 === 0 ? 'RUNNING' : 'PAUSE', mc_percent: i % 101, [`seen_${i}`]: i, ams: { [`tray_${i}`]: { remain: i } } } },
  )

  for (const report of flood) await s.app.services.deviceState.applyReport('ONE', report)
  for (const report of flood) broker.publishReport('FLOOD', Buffer.from(JSON.stringify(report)))
  await eventually(() => broker.stats().reports.accepted === flood.length)
  await broker.close()

  assert.deepEqual(broker.stats().reports, { accepted: flood.length, ignored: 0, dropped: 0 })
  const one = await outcome(s, 'ONE')
  assert.deepEqual(await outcome(s, 'FLOOD'), one)
  assert.equal(Object.keys(one.state.print.ams).length, 225)
  assert.equal(one.state.print.seen_0, 0)
  assert.equal(one.print_status, 'RUNNING')
})

test('reports are recorded in batches on a timer, and a report for an unknown printer is dropped', async (t) => {
  const s = await startTestApp(t)
  const broker = await startBroker(s, { flushEvery: 50 })
  await s.createUser('owner@example.com')
  await addDevice(s, 'owner@example.com', 'DEV1')
  broker.publishReport('GHOST', Buffer.from('{"print":{"gcode_state":"RUNNING"}}'))
  broker.publishReport('DEV1', Buffer.from('{"print":{"gcode_state":"RUNNING","subtask_name":"Timer","gcode_start_time":"1700000000"}}'))
  await eventually(async () => (await s.app.services.devices.get('DEV1'))!.print_status === 'RUNNING')
  await eventually(() => broker.stats().reports.dropped === 1)
  assert.deepEqual(broker.stats().reports, { accepted: 2, ignored: 0, dropped: 1 })
})

test('combineReports merges what changes nothing and keeps state changes as steps of their own', () => {
  const running = { print: { gcode_state: 'RUNNING', mc_percent: 1, ams: { tray_now: '1' } } }
  assert.deepEqual(combineReports(running, { print: { mc_percent: 2, ams: { humidity: '3' } } }), {
    print: { gcode_state: 'RUNNING', mc_percent: 2, ams: { tray_now: '1', humidity: '3' } },
  })
  // The same state again (X1 printers send everything each time) changes nothing.
  assert.deepEqual(combineReports(running, { print: { gcode_state: 'RUNNING', mc_percent: 5 } })?.print, { gcode_state: 'RUNNING', mc_percent: 5, ams: { tray_now: '1' } })
  assert.equal(combineReports(running, { print: { gcode_state: 'FINISH' } }), null)
  assert.equal(combineReports({ print: { mc_percent: 1 } }, { print: { gcode_state: 'FINISH' } }), null, 'a state not known to equal the one before')
  assert.equal(combineReports(running, { print: { subtask_name: 'Other' } }), null)
  assert.equal(combineReports({ print: { nozzle: 1 } }, { print: { nozzle: { temp: 1 } } }), null, 'a value becoming an object')
  // Firmware: the last version named wins; reports that name none do not erase it.
  const ota = { info: { module: [{ name: 'ota', sw_ver: '1.2' }] } }
  assert.deepEqual(combineReports(ota, { info: { module: [{ name: 'ams' }] } }), ota)
  assert.deepEqual(combineReports({ print: { mc_percent: 1 } }, ota), { print: { mc_percent: 1 }, ...ota })
})

test('foldReports keeps the state of both; answers that fail a job, and values turning into objects, stay steps', () => {
  assert.deepEqual(foldReports({ print: { gcode_state: 'RUNNING', ams: { tray_now: '1' } } }, { print: { gcode_state: 'FINISH', ams: { humidity: '3' } } }), {
    print: { gcode_state: 'FINISH', ams: { tray_now: '1', humidity: '3' } },
  })
  const status = { print: { mc_percent: 5 } }
  const answer = { print: { command: 'pause', result: 'success' } }
  assert.equal(foldReports(answer, status), status, 'an answer that changes nothing goes')
  assert.equal(foldReports(status, answer), status)
  const refused = { print: { command: 'project_file', result: 'failed', task_id: '7' } }
  assert.equal(foldReports(status, refused), null)
  assert.equal(foldReports(refused, status), null)
  assert.equal(foldReports({ print: { nozzle: 1 } }, { print: { nozzle: { temp: 1 } } }), null)
})
