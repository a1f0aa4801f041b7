/**
 * The packed SDK works on its own: `npm pack` of protocol and client, installed offline in
 * an empty project, imported by plain Node (no tsx, no `source` condition), and talking to
 * a running server.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { addDevice } from '../../server/test/helpers/app.ts'
import { startCloud } from './helpers/cloud.ts'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '../../..')

/** The environment without npm's per-run settings and Node options (a `source` condition, say). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE_OPTIONS'))
}

async function npm(args: string[], cwd: string) {
  return run('npm', args, { cwd, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 })
}

async function packedFiles(args: string[], cwd: string, dir: string): Promise<string[]> {
  const { stdout } = await npm(['pack', ...args, '--pack-destination', dir, '--json'], cwd)
  return (JSON.parse(stdout) as { filename: string }[]).map((p) => path.join(dir, p.filename))
}

test('npm pack of the client installs offline in an empty project and works with only its declared dependencies', { timeout: 300_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bambu-cloud-client-pack-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))

  await npm(['run', 'build'], root)
  const tarballs = await packedFiles(['-w', 'packages/protocol', '-w', 'packages/client'], root, dir)
  assert.deepEqual(tarballs.map((f) => path.basename(f)).sort(), ['bambu-cloud-client-0.1.0.tgz', 'bambu-cloud-protocol-0.1.0.tgz'])

  const project = path.join(dir, 'project')
  fs.mkdirSync(project)
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true }))
  const install = ['install', '--offline', '--no-audit', '--no-fund']
  try {
    await npm([...install, ...tarballs], project)
  } catch {
    // TypeBox (protocol's dependency) missing from the npm cache: install it from its own pack.
    tarballs.push(...(await packedFiles([path.join(root, 'node_modules/@sinclair/typebox')], root, dir)))
    await npm([...install, ...tarballs], project)
  }
  const installed = fs.readdirSync(path.join(project, 'node_modules')).flatMap((scope) =>
    scope.startsWith('@') ? fs.readdirSync(path.join(project, 'node_modules', scope)).map((name) => `${scope}/${name}`) : scope.startsWith('.') ? [] : [scope],
  )
  assert.deepEqual(installed.sort(), ['@bambu-cloud/client', '@bambu-cloud/protocol', '@sinclair/typebox'])

  const cloud = await startCloud(t)
  await cloud.s.createUser('ada@example.com')
  const { accessToken } = await cloud.s.login('ada@example.com')
  await addDevice(cloud.s, 'ada@example.com', 'DEV1', { name: 'Packed' })

  const script = `import('@bambu-cloud/client').then(async (m) => {
    if (typeof m.BambuCloud !== 'function' || typeof m.BambuApiError !== 'function') throw new Error('missing exports')
    const cloud = new m.BambuCloud({ baseUrl: process.env.BASE_URL, accessToken: process.env.ACCESS_TOKEN })
    const devices = await cloud.devices.list()
    const denied = await new m.BambuCloud({ baseUrl: process.env.BASE_URL }).user.profile().catch((e) => e)
    console.log(JSON.stringify({
      resolved: require.resolve('@bambu-cloud/client'),
      exports: Object.keys(m).sort(),
      devices: devices.map((d) => [d.dev_id, d.name]),
      denied: [denied instanceof m.AuthenticationError, denied instanceof m.BambuApiError, denied.status],
    }))
  })`
  const { stdout } = await run(process.execPath, ['-e', script], {
    cwd: project,
    env: { ...cleanEnv(), BASE_URL: cloud.baseUrl, ACCESS_TOKEN: accessToken },
  })
  const out = JSON.parse(stdout)
  assert.equal(fs.realpathSync(out.resolved), path.join(fs.realpathSync(project), 'node_modules/@bambu-cloud/client/dist/index.js'))
  for (const name of ['BambuCloud', 'BambuApiError', 'AuthenticationError', 'ConnectionError', 'TimeoutError', 'RateLimitError']) {
    assert.ok(out.exports.includes(name), name)
  }
  assert.deepEqual(out.devices, [['DEV1', 'Packed']])
  assert.deepEqual(out.denied, [true, true, 401])
})
