/**
 * The installed command: `npm ci` links `node_modules/.bin/bambu-cloud` and its build (the
 * root `prepare`) compiles the CLI, which then runs under plain Node: no tsx, no `source`
 * condition, the SDK from its own build.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { PASSWORD, ROOT, runCli, startCli } from './helpers/cli.ts'

const BIN = path.join(ROOT, 'node_modules/.bin/bambu-cloud')

test('node_modules/.bin/bambu-cloud is an executable node script that runs the build', async () => {
  assert.equal(fs.realpathSync(BIN), path.join(ROOT, 'packages/cli/bin/bambu-cloud.js'))
  assert.ok((fs.statSync(BIN).mode & 0o111) !== 0, 'executable')
  assert.equal(fs.readFileSync(BIN, 'utf8').split('\n')[0], '#!/usr/bin/env node')
  assert.ok(fs.existsSync(path.join(ROOT, 'packages/cli/dist/bin.js')), 'built by `npm ci` (or `npm run build`)')

  const help = await runCli(['--help'], { PATH: process.env.PATH }, { command: [BIN] })
  assert.equal(help.code, 0, help.stderr)
  for (const command of ['login', 'logout', 'whoami', 'devices', 'status', 'tasks', 'messages', 'projects', 'firmware', 'rename', 'settings', 'ttcode', 'serve', 'admin']) {
    assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'), command)
  }
  const version = await runCli(['--version'], { PATH: process.env.PATH }, { command: [BIN] })
  assert.equal(version.stdout, `${JSON.parse(fs.readFileSync(path.join(ROOT, 'packages/cli/package.json'), 'utf8')).version}\n`)
})

test('the built command logs in and lists printers against a server', async (t) => {
  const cli = await startCli(t)
  await cli.createUser('ada@example.com')
  await cli.admin('POST', '/admin/v1/devices', { dev_id: 'DEV1', name: 'Workshop', dev_model_name: 'BL-P001', dev_product_name: 'X1 Carbon', owner: 'ada@example.com' })
  // Outside the checkout, with no Node options: nothing but the build can run it.
  const cwd = path.dirname(cli.configHome)
  const login = await runCli(['login', '--account', 'ada@example.com'], { ...cli.env, BAMBU_PASSWORD: PASSWORD }, { command: [BIN], cwd })
  assert.equal(login.code, 0, login.stderr)
  const devices = await runCli(['devices', '--json'], cli.env, { command: [BIN], cwd })
  assert.equal(devices.code, 0, devices.stderr)
  assert.deepEqual(JSON.parse(devices.stdout).map((d: { dev_id: string; name: string }) => [d.dev_id, d.name]), [['DEV1', 'Workshop']])
})
