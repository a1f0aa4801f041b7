/**
 * Exit codes and error lines: 1 when the API (or the network) says no, with the API's error
 * in one line; 2 for usage errors; never a stack trace.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { assertFails, closedPort, startCli } from './helpers/cli.ts'

test('the API saying no exits 1 with "error: <message> (code N, HTTP S)" on one line', async (t) => {
  const cli = await startCli(t)
  await cli.createUser('ada@example.com')
  await cli.createUser('bob@example.com')
  await cli.admin('POST', '/admin/v1/devices', { dev_id: 'BOB1', name: 'Bob’s', dev_model_name: 'BL-P001', dev_product_name: 'X1 Carbon', owner: 'bob@example.com' })
  await cli.login('ada@example.com')

  assertFails(await cli.run(['rename', 'BOB1', 'Mine now']), 1, 'error: Resource forbidden: permission denied (code 8, HTTP 403)')
  assertFails(await cli.run(['firmware', 'BOB1', '--json']), 1, 'error: Resource forbidden: permission denied (code 8, HTTP 403)')
  assertFails(await cli.run(['settings', 'get', 'PFUS0000000000']), 1, 'error: Bad request: setting PFUS0000000000 does not exist (code 1002, HTTP 400)')
  assertFails(await cli.run(['settings', 'list', '--version', '1.2']), 1, /^error: Invalid input parameters.* \(code 1001, HTTP 422\)$/)
})

test('usage errors exit 2 with one line; nothing is sent', async (t) => {
  const cli = await startCli(t)
  const cases: [string[], string | RegExp][] = [
    [['nope'], "error: unknown command 'nope'"],
    [['devices', '--bogus'], "error: unknown option '--bogus'"],
    [['rename', 'DEV1'], "error: missing required argument 'name'"],
    [['tasks', '--limit', 'ten'], "error: option '--limit <n>' argument 'ten' is invalid. expected a whole number of at least 1"],
    [['status', '--watch', '0'], "error: option '--watch [seconds]' argument '0' is invalid. expected a number of seconds above 0"],
    [['devices', '--region', 'mars'], /^error: option '--region <region>' argument 'mars' is invalid\. Allowed choices are global, china\.$/],
    [['devices', '--base-url', cli.baseUrl, '--region', 'global'], 'error: give --base-url or --region, not both'],
    [['devices', '--base-url', 'ftp://example.org'], 'error: not an http(s) URL: ftp://example.org'],
    [['admin', 'users', 'list'], 'error: no admin token: pass --admin-token or set BAMBU_ADMIN_TOKEN'],
    [['admin', 'report', 'DEV1', '{"print":', '--admin-token', 'x'.repeat(20)], /^error: the report is not valid JSON: /],
    [['settings', 'import', '/nonexistent/preset.json'], 'error: cannot read /nonexistent/preset.json: ENOENT'],
  ]
  for (const [args, line] of cases) assertFails(await cli.run(args), 2, line)

  // A command group without its subcommand shows its help on stderr, and exits 2.
  const group = await cli.run(['admin', 'users'])
  assert.equal(group.code, 2)
  assert.match(group.stderr, /^Usage: bambu-cloud admin users/)
  assert.equal(group.stdout, '')

  const help = await cli.run(['--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /^Usage: bambu-cloud /)
})

test('a server that cannot be reached exits 1 naming it', async (t) => {
  const cli = await startCli(t)
  const url = `http://127.0.0.1:${await closedPort()}`
  assertFails(await cli.run(['devices', '--base-url', url]), 1, `error: cannot reach ${url} (ECONNREFUSED)`)
  assertFails(await cli.run(['admin', 'users', 'list', '--admin-token', 'x'.repeat(20)], { BAMBU_BASE_URL: url }), 1, `error: cannot reach ${url} (ECONNREFUSED)`)
})
