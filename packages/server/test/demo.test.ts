/**
 * `npm run demo` as a process: it prints the demo account's password once, that password
 * logs in, the three virtual printers are online for it and printing, and Ctrl-C stops
 * the demo and its server.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort } from './helpers/ports.ts'

const ROOT = path.resolve(import.meta.dirname, '../../..')

test('npm run demo: a demo account with its password printed once, three virtual printers printing, Ctrl-C stops it all', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bambu-cloud-demo-'))
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  // The HTTP port is chosen up front: it is also the base of the signed links the printers download from.
  const port = await freePort()
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/server/src/demo.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, MQTT_TLS_PORT: '0', DEMO_TIME_SCALE: '200' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.after(() => child.kill('SIGKILL'))
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))

  for (let i = 0; i < 600 && !/password: /.test(out) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100))
  const banner = /bambu-cloud demo at (http:\/\/[^\s]+) [\s\S]*account: +(\S+)\n +password: +(\S+)/.exec(out)
  assert.ok(banner, `no banner\nstdout: ${out}\nstderr: ${err}`)
  const [, baseUrl, account, password] = banner
  assert.equal(out.split(password!).length - 1, 1, 'the password is printed once')
  assert.ok(!err.includes(password!), 'and never on stderr')

  const login = await fetch(`${baseUrl}/v1/user-service/user/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account, password }) })
  const { accessToken } = (await login.json()) as { accessToken: string }
  assert.ok(accessToken)
  const get = async (route: string) => (await fetch(baseUrl + route, { headers: { authorization: `Bearer ${accessToken}` } })).json() as Promise<any>

  let devices: { dev_id: string; online: boolean; print_status: string }[] = []
  for (let i = 0; i < 200; i++) {
    devices = (await get('/v1/iot-service/api/user/bind')).devices
    if (devices.length === 3 && devices.every((d) => d.online) && devices.some((d) => d.print_status === 'RUNNING' || d.print_status === 'SUCCESS')) break
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.deepEqual(devices.map((d) => d.dev_id).sort(), ['DEMO00000000001', 'DEMO00000000002', 'DEMO00000000003'])
  assert.ok(devices.every((d) => d.online))
  const tasks = await get('/v1/user-service/my/tasks?limit=20')
  assert.ok(tasks.total >= 3, 'a print per printer')
  assert.ok(tasks.hits.every((h: { title: string }) => h.title === 'Demo cube'))

  child.kill('SIGINT')
  assert.equal(await exited, 0)
  await assert.rejects(fetch(`${baseUrl}/healthz`), 'the server stopped with it')
})
