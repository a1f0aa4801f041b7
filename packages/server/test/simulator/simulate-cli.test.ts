/**
 * The simulate entry point as a process: its argument errors, the line it prints per
 * printer, printers that answer on the ports it printed, and a clean exit on SIGTERM.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { pushallRequest, reportTopic, requestTopic } from '@bambu-cloud/protocol'
import { connectLan, ReportLog, WAIT_MS } from './helpers.ts'

const ROOT = path.resolve(import.meta.dirname, '../../../..')
const CLI = path.join(ROOT, 'packages/server/src/simulate-cli.ts')
const NODE_ARGS = ['--conditions=source', '--import', 'tsx', CLI]

function run(args: string[]) {
  return spawnSync(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 })
}

test('bad arguments exit 2 with one line on stderr', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--printers', '2'], /--url .*--lan/],
    [['--lan', '--printers', '0'], /--printers must be a whole number/],
    [['--lan', '--printers', 'many'], /--printers must be a whole number/],
    [['--lan', '--time-scale', '0'], /--time-scale must be a positive number/],
    [['--lan', '--time-scale', '-3'], /--time-scale' argument is ambiguous/],
    [['--url', 'http://localhost'], /--url must be mqtt/],
    [['--lan', '--dev-id-prefix', 'has space'], /--dev-id-prefix/],
    [['--lan', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['--url', 'mqtt://127.0.0.1:1', '--ca', '/nonexistent/ca.pem'], /--ca: cannot read/],
  ]
  for (const [args, message] of cases) {
    const result = run(args)
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`)
    assert.match(result.stderr, message)
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr)
    assert.match(result.stderr, /^simulate: /)
    assert.equal(result.stdout, '')
  }
})

test('a broker that cannot be reached exits 1', () => {
  // Port 1 on loopback refuses connections.
  const result = run(['--url', 'mqtt://127.0.0.1:1', '--printers', '1'])
  assert.equal(result.status, 1, result.stderr)
  assert.match(result.stderr, /^simulate: cannot connect SIM000000000001/)
})

test('LAN printers are listed one per line, answer on their ports, and stop on SIGTERM', async (t) => {
  const child = spawn(process.execPath, [...NODE_ARGS, '--lan', '--printers', '2', '--json', '--access-code', 'abcd1234', '--dev-id-prefix', 'LAN'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let out = ''
  let err = ''
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  const lines = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no printer list; stderr: ${err}`)), WAIT_MS * 3)
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const complete = out.split('\n').filter((l) => l.trim() !== '')
      if (complete.length >= 2 && out.endsWith('\n')) {
        clearTimeout(timer)
        resolve(complete)
      }
    })
  })
  const printers = lines.map((l) => JSON.parse(l) as { dev_id: string; access_code: string; model: string; host: string; mqtt_port: number; ftps_port: number })
  assert.deepEqual(printers.map((p) => [p.dev_id, p.access_code, p.model, p.host]), [
    ['LAN000000000001', 'abcd1234', 'C11', '127.0.0.1'],
    ['LAN000000000002', 'abcd1234', 'C11', '127.0.0.1'],
  ])
  for (const p of printers) assert.ok(Number.isInteger(p.mqtt_port) && Number.isInteger(p.ftps_port))

  const second = printers[1]!
  const client = await connectLan(second.mqtt_port, 'bblp', 'abcd1234')
  const reports = new ReportLog(client, reportTopic(second.dev_id))
  await client.subscribeAsync(reportTopic(second.dev_id))
  await client.publishAsync(requestTopic(second.dev_id), JSON.stringify(pushallRequest('3')))
  const full = await reports.waitForPrint('the pushall answer', (p) => p.sequence_id === '3')
  assert.equal(full.gcode_state, 'IDLE')
  await client.endAsync(true)

  child.kill('SIGTERM')
  assert.equal(await exited, 0, err)
})
