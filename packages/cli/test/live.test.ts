/**
 * The live commands against a real server process and its MQTT broker: `watch`, `pause`,
 * `resume` and `stop` with a virtual printer connected as a device, and `simulate`, which
 * registers virtual printers on the server and runs them, trusting the server's own
 * certificate, until interrupted.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { VirtualPrinter } from '../../server/src/simulator/virtual-printer.ts'
import { ADMIN_TOKEN, CLI_SOURCE, ROOT, assertFails, startCli, tempDir, type CliHarness } from './helpers/cli.ts'

/** The broker's TLS port, from the server's log line. */
async function brokerPort(cli: CliHarness): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const m = /"tlsPort":(\d+)[^\n]*MQTT broker listening/.exec(cli.server.stdout())
    if (m) return Number(m[1])
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no MQTT broker in the server's log:\n${cli.server.stdout()}`)
}

test('watch prints merged states (JSON Lines with --json); pause, resume and stop wait for the printer; refusals exit 1', async (t) => {
  const cli = await startCli(t)
  await cli.createUser('ada@example.com')
  await cli.admin('POST', '/admin/v1/devices', { dev_id: 'SIM000000000001', name: 'Virtual', dev_model_name: 'C11', dev_product_name: 'P1P', dev_access_code: '12345678', owner: 'ada@example.com' })
  await cli.login('ada@example.com')
  const url = `mqtts://127.0.0.1:${await brokerPort(cli)}`
  // A print of 10 real minutes: pause, resume and stop are each a CLI process, slow on a busy machine.
  const printer = new VirtualPrinter({ devId: 'SIM000000000001', accessCode: '12345678', timeScale: 300, reportIntervalMs: 100, printSeconds: 180_000 })
  t.after(() => printer.close())
  await printer.connectToCloud({ url, rejectUnauthorized: false })
  const live = ['--mqtt-url', url, '--insecure']

  const lines = (await cli.ok(['watch', 'SIM000000000001', '--count', '2', '--json', ...live])).trim().split('\n')
  assert.equal(lines.length, 2)
  const states = lines.map((l) => JSON.parse(l))
  assert.equal(states[0].print.gcode_state, 'IDLE')
  assert.equal(states[1].print.nozzle_diameter, states[0].print.nozzle_diameter, 'later states keep what earlier reports said')

  const plain = (await cli.ok(['watch', 'SIM000000000001', '--count', '1', ...live])).trim()
  assert.match(plain, /^\d{4}-\d\d-\d\dT[\d:.]+Z\tIDLE\t0%\t/)

  // Nothing to pause yet: the printer's refusal is the error.
  assertFails(await cli.run(['pause', 'SIM000000000001', ...live]), 1, /^error: SIM000000000001 refused pause: /)
  // Without --insecure the broker's self-signed certificate is not trusted.
  const untrusted = await cli.run(['pause', 'SIM000000000001', '--mqtt-url', url])
  assert.equal(untrusted.code, 1)
  assert.match(untrusted.stderr, /^error: cannot reach the MQTT broker/)

  const server = http.createServer((_req, res) => res.end('any bytes')).listen(0, '127.0.0.1')
  t.after(() => server.close())
  await new Promise((r) => server.once('listening', r))
  const file = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cube.3mf`
  printer.handleRequest(JSON.stringify({ print: { sequence_id: '1', command: 'project_file', param: 'Metadata/plate_1.gcode', url: file } }))
  for (let i = 0; i < 200 && printer.state.gcode_state !== 'RUNNING'; i++) await new Promise((r) => setTimeout(r, 50))
  assert.equal(await cli.ok(['pause', 'SIM000000000001', ...live]), 'SIM000000000001: pause confirmed\n')
  assert.equal(printer.state.gcode_state, 'PAUSE')
  assert.deepEqual(await cli.json(['resume', 'SIM000000000001', ...live]), { dev_id: 'SIM000000000001', command: 'resume', result: 'success' })
  await cli.ok(['stop', 'SIM000000000001', ...live])
  assert.equal(printer.state.gcode_state, 'FAILED')

  // Someone else's printer: the broker refuses the subscription.
  await cli.createUser('bob@example.com')
  await cli.login('bob@example.com')
  assertFails(await cli.run(['watch', 'SIM000000000001', '--count', '1', ...live]), 1, /not your printer/)
})

test('simulate --owner registers virtual printers trusting the server’s own certificate, they come online for that account, and Ctrl-C stops them', async (t) => {
  const cli = await startCli(t)
  await cli.createUser('ada@example.com')
  await cli.login('ada@example.com')
  const url = `mqtts://127.0.0.1:${await brokerPort(cli)}`
  // Without DATA_DIR/mqtt.crt, --mqtt-ca or --insecure the self-signed certificate is refused.
  const untrusted = await cli.run(['simulate', '--mqtt-url', url, '--dev-id-prefix', 'U'], { DATA_DIR: tempDir(t) })
  assert.equal(untrusted.code, 1)
  assert.match(untrusted.stderr, /self-signed certificate/)
  // The server's DATA_DIR: its mqtt.crt is trusted, no --insecure needed.
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', CLI_SOURCE, 'simulate', '--printers', '2', '--owner', 'ada@example.com', '--mqtt-url', url, '--dev-id-prefix', 'T'],
    { cwd: ROOT, env: { ...cli.env, BAMBU_ADMIN_TOKEN: ADMIN_TOKEN, DATA_DIR: cli.db.dataDir } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  t.after(() => child.kill('SIGKILL'))
  let out = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))

  let devices: { dev_id: string; online: boolean }[] = []
  for (let i = 0; i < 300; i++) {
    devices = await cli.json(['devices'])
    if (devices.length === 2 && devices.every((d) => d.online)) break
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.deepEqual(devices.map((d) => [d.dev_id, d.online]).sort(), [['T00000000000001', true], ['T00000000000002', true]])
  assert.deepEqual(out.trim().split('\n').map((l) => l.split(' ')[0]), ['dev_id=T00000000000001', 'dev_id=T00000000000002'])

  child.kill('SIGINT')
  assert.equal(await exited, 0)
  for (let i = 0; i < 100 && (await cli.json(['devices'])).some((d: { online: boolean }) => d.online); i++) await new Promise((r) => setTimeout(r, 100))
  assert.ok((await cli.json(['devices'])).every((d: { online: boolean }) => !d.online), 'offline once the simulator stopped')
})
