/**
 * The terminal path, under a pseudo-terminal from util-linux `script`: tables with a header,
 * colour (and none with NO_COLOR), progress bars, the live redraw, and the interactive login
 * that does not echo the password. Skipped where `script` is missing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { buildThreeMf, TWO_PLATES } from '../../server/test/helpers/three-mf.ts'
import { CLI_SOURCE, PASSWORD, ROOT, startCli, tempDir, type CliHarness, type Env } from './helpers/cli.ts'

const hasScript = spawnSync('script', ['--version']).error === undefined
const skip = hasScript ? false : 'no `script` (util-linux) here to make a pseudo-terminal'

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`

/** Runs the CLI on a pseudo-terminal; `input` answers prompts as they appear. */
function onTerminal(cli: CliHarness, args: string[], env: Env = {}, input: { after: string; send: () => Promise<string> | string }[] = []) {
  const command = [process.execPath, '--conditions=source', '--import', 'tsx', CLI_SOURCE, ...args].map(quote).join(' ')
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: ROOT,
    env: Object.fromEntries(Object.entries({ ...cli.env, ...env }).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 60_000,
  })
  let output = ''
  const pending = [...input]
  child.stdout.on('data', async (chunk: Buffer) => {
    output += chunk.toString()
    const next = pending[0]
    if (next && output.includes(next.after)) {
      pending.shift()
      child.stdin.write(await next.send())
    }
  })
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    child.on('exit', (code) => {
      child.stdin.end()
      resolve({ code, output: output.replace(/\r/g, '') })
    })
  })
}

test('on a terminal: a bold header, coloured states and progress bars; NO_COLOR keeps the table, without colour; --watch redraws', { skip }, async (t) => {
  const cli = await startCli(t)
  await cli.createUser('ada@example.com')
  await cli.admin('POST', '/admin/v1/devices', { dev_id: 'DEV1', name: 'Workshop', dev_model_name: 'BL-P001', dev_product_name: 'X1 Carbon', owner: 'ada@example.com' })
  await cli.admin('POST', '/admin/v1/devices/DEV1/online', { online: true })
  await cli.admin('POST', '/admin/v1/devices/DEV1/report', { print: { command: 'push_status', gcode_state: 'RUNNING', mc_percent: 40, subtask_name: 'Benchy', mc_remaining_time: 75 } })
  await cli.login('ada@example.com')

  const status = await onTerminal(cli, ['status'])
  assert.equal(status.code, 0, status.output)
  assert.match(status.output, /^\x1b\[1mDEV_ID\x1b\[22m {2}\x1b\[1mNAME {4}\x1b\[22m {2}\x1b\[1mSTATE {2}\x1b\[22m {2}\x1b\[1mPROGRESS/)
  const row = status.output.split('\n')[1]!
  assert.ok(row.startsWith('DEV1    Workshop  \x1b[32mRUNNING\x1b[39m  '), JSON.stringify(row))
  assert.ok(row.includes(`${'█'.repeat(8)}\x1b[2m${'░'.repeat(12)}\x1b[22m  40%`), JSON.stringify(row))
  assert.ok(row.endsWith('1h 15m  Benchy'), JSON.stringify(row))

  const plain = await onTerminal(cli, ['devices'], { NO_COLOR: '1' })
  assert.equal(plain.code, 0, plain.output)
  assert.doesNotMatch(plain.output, /\x1b/)
  assert.deepEqual(plain.output.split('\n').filter(Boolean), [
    'DEV_ID  NAME      MODEL      ONLINE  STATUS   NOZZLE',
    'DEV1    Workshop  X1 Carbon  yes     RUNNING  0.4',
  ])

  const watch = await onTerminal(cli, ['status', '--watch', '0.05', '--count', '2'])
  assert.equal(watch.code, 0, watch.output)
  assert.equal(watch.output.split('\x1b[H\x1b[2J').length - 1, 2, 'two frames, each on a cleared screen')
  assert.ok(watch.output.startsWith('\x1b[?25l') && watch.output.endsWith('\x1b[?25h'), 'the cursor is hidden while watching, then shown again')
  assert.equal(watch.output.split('Benchy').length - 1, 2)

  // Without --count it goes on until Ctrl-C, then tidies up and exits as interrupted.
  const interrupted = await onTerminal(cli, ['status', '--watch', '0.05'], {}, [{ after: 'Benchy', send: () => '\x03' }])
  assert.equal(interrupted.code, 130, interrupted.output)
  assert.ok(interrupted.output.endsWith('^C\x1b[?25h'), `the cursor is shown again, and no error line: ${JSON.stringify(interrupted.output.slice(-40))}`)

  // --json stays JSON on a terminal.
  const json = await onTerminal(cli, ['devices', '--json'])
  assert.equal(JSON.parse(json.output)[0].dev_id, 'DEV1')
})

test('on a terminal, login asks for the password without echoing it, then for the mailed code', { skip }, async (t) => {
  const cli = await startCli(t)
  await cli.createUser('bob@example.com', 'email_code')
  const latestCode = async () => (await cli.admin('GET', '/admin/v1/outbox?account=bob%40example.com')).messages[0].code as string

  let code = ''
  const login = await onTerminal(cli, ['login', '--account', 'bob@example.com'], {}, [
    { after: 'Password for bob@example.com: ', send: () => `${PASSWORD}\r` },
    { after: 'Code sent to bob@example.com: ', send: async () => `${(code = await latestCode())}\r` },
  ])
  assert.equal(login.code, 0, login.output)
  assert.ok(!login.output.includes(PASSWORD), `the password is not echoed: ${login.output}`)
  assert.match(login.output, new RegExp(`Code sent to bob@example\\.com: (\x1b\\[\\d+G)?${code}\\n`), 'the code is typed (and shown)')
  assert.match(login.output, /Logged in to .* as bob@example\.com\.\n$/)
  assert.equal(cli.saved().sessions[cli.baseUrl]!.account, 'bob@example.com')
  assert.equal(fs.statSync(cli.tokenFile).mode & 0o777, 0o600)
})

test('projects upload on a terminal: one progress line redrawn in place through every stage, then cleared', { skip }, async (t) => {
  const cli = await startCli(t, { signedUrls: true })
  await cli.createUser('ada@example.com')
  await cli.login('ada@example.com')
  const file = path.join(tempDir(t), 'Bracket.3mf')
  fs.writeFileSync(file, buildThreeMf({ plates: [{ ...TWO_PLATES[0]!, gcode: 'G28\n'.repeat(20_000) }] }))

  const { code, output } = await onTerminal(cli, ['projects', 'upload', file], { NO_COLOR: '1' })
  assert.equal(code, 0, output)
  const frames = output.split('\x1b[2K')
  const progress = frames.slice(1, -1)
  assert.ok(progress.some((f) => /^uploading +█{20} 100% 0\.\d MiB\/0\.\d MiB$/.test(f)), JSON.stringify(progress))
  assert.ok(progress.some((f) => f.startsWith('processing')), JSON.stringify(progress))
  assert.ok(progress.some((f) => /^print-ready plate 1 +█{20} 100%/.test(f)), JSON.stringify(progress))
  assert.ok(progress.every((f) => f.startsWith('\n') === false && f.endsWith('\n') === false), 'redrawn on one line')
  assert.match(frames.at(-1)!, /^Project: +\d+\nModel: /)
})
