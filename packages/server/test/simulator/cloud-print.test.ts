/**
 * Prints from an http(s) URL, as the cloud sends them: the printer downloads the 3MF,
 * checks its md5, and takes the plate's duration from the slicer's prediction.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { projectFileRequest, type ProjectFileParams } from '@bambu-cloud/protocol'
import { PRINT_ERRORS } from '../../src/simulator/print-report.ts'
import { buildThreeMf, TWO_PLATES } from '../helpers/three-mf.ts'
import { md5, startLanPrinter, uploadOverFtps } from './helpers.ts'

/** TWO_PLATES predicts 1800 s for plate 1 and 5025 s for plate 2. */
const SLICED = buildThreeMf({ plates: TWO_PLATES, printerModel: 'Bambu Lab P1P', printerModelId: 'C11' })

async function fileServer(t: TestContext, files: Record<string, Buffer>): Promise<(path: string) => string> {
  const server = http.createServer((req, res) => {
    const body = files[new URL(req.url ?? '/', 'http://localhost').pathname]
    if (!body) return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as AddressInfo
  return (path) => `http://127.0.0.1:${port}${path}`
}

function cloudPrint(url: string, overrides: Partial<ProjectFileParams> = {}): ProjectFileParams {
  return {
    param: 'Metadata/plate_2.gcode',
    url,
    md5: md5(SLICED),
    project_id: '501',
    profile_id: '502',
    task_id: '503',
    subtask_id: '504',
    subtask_name: 'two plates',
    ...overrides,
  }
}

test('a downloaded 3MF prints as a cloud print, lasting as long as the slicer predicted', async (t) => {
  const url = await fileServer(t, { '/files/two%20plates.3mf': SLICED })
  // 5025 simulated seconds: fast enough to finish well within the wait.
  const { reports, request, printer } = await startLanPrinter(t, { printSeconds: 60, timeScale: 6000 })
  await request(projectFileRequest(cloudPrint(url('/files/two%20plates.3mf?signature=x')), '1'))
  const ack = await reports.waitForAck('print', 'project_file', '1')
  assert.equal(ack.result, 'success')
  const prepare = await reports.waitForPrint('PREPARE', (p) => p.gcode_state === 'PREPARE')
  assert.equal(prepare.print_type, 'cloud')
  assert.equal(prepare.gcode_file, 'two plates.3mf')
  assert.equal(prepare.mc_remaining_time, Math.ceil(5025 / 60), 'plate 2’s prediction, not the default')
  assert.equal(prepare.task_id, '503')
  assert.equal(prepare.project_id, '501')
  await reports.waitForPrint('FINISH', (p) => p.gcode_state === 'FINISH')
  assert.equal(printer.state.mc_percent, 100)
})

test('a file without a prediction prints for the configured duration', async (t) => {
  const setup = await startLanPrinter(t, { printSeconds: 1200 })
  const content = Buffer.from('not a 3MF')
  const md5sum = await uploadOverFtps(setup.lan.ftpsPort, '/plain.3mf', content)
  await setup.request(projectFileRequest(cloudPrint('ftp:///plain.3mf', { md5: md5sum, param: 'Metadata/plate_1.gcode' }), '1'))
  const prepare = await setup.reports.waitForPrint('PREPARE', (p) => p.gcode_state === 'PREPARE')
  assert.equal(prepare.mc_remaining_time, 20)
  assert.equal(prepare.print_type, 'local')
})

test('a download that fails, or whose md5 differs, fails the print', async (t) => {
  const url = await fileServer(t, { '/sliced.3mf': SLICED })
  const { reports, request } = await startLanPrinter(t)

  await request(projectFileRequest(cloudPrint(url('/gone.3mf')), '1'))
  const missing = await reports.waitForAck('print', 'project_file', '1')
  assert.equal(missing.result, 'failed')
  assert.match(String(missing.reason), /download failed: HTTP 404/)
  const failed = await reports.waitForPrint('FAILED', (p) => p.gcode_state === 'FAILED')
  assert.equal(failed.print_error, PRINT_ERRORS.downloadFailed)
  assert.equal(failed.print_type, 'cloud')

  const from = reports.mark()
  await request(projectFileRequest(cloudPrint(url('/sliced.3mf'), { md5: '0'.repeat(32) }), '2'))
  const mismatch = await reports.waitForAck('print', 'project_file', '2', from)
  assert.equal(mismatch.result, 'failed')
  assert.match(String(mismatch.reason), /md5/)
  const report = await reports.waitForPrint('FAILED with a mismatch', (p) => p.print_error === PRINT_ERRORS.fileMismatch, from)
  assert.equal(report.print_error, PRINT_ERRORS.fileMismatch)
})

test('a url that is neither ftp nor http(s) is refused', async (t) => {
  const { reports, request, printer } = await startLanPrinter(t)
  await request(projectFileRequest(cloudPrint('file:///mnt/sdcard/x.3mf'), '1'))
  const ack = await reports.waitForAck('print', 'project_file', '1')
  assert.equal(ack.result, 'failed')
  assert.match(String(ack.reason), /url/)
  assert.equal(printer.state.gcode_state, 'IDLE')
})
