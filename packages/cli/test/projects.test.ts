/**
 * `projects upload` and `projects show` against a real server process whose signed URLs
 * point at itself: the upload's outcome as JSON and as lines, `show` against the API, and
 * the failures (a file that is not there, a file the server refuses).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { buildThreeMf, TWO_PLATES } from '../../server/test/helpers/three-mf.ts'
import { plainLines, startCli, tempDir } from './helpers/cli.ts'

const SLICED = buildThreeMf({
  plates: [TWO_PLATES[0]!, { ...TWO_PLATES[1]!, gcode: ';plate 2\nG28\n'.repeat(50) }],
  printerModel: 'Bambu Lab P1S',
  printerModelId: 'C12',
})

test('projects upload FILE: the whole sequence; --json is the outcome; show ID matches user/project/{id}', async (t) => {
  const cli = await startCli(t, { signedUrls: true })
  await cli.createUser('ada@example.com')
  await cli.login('ada@example.com')
  const token = cli.saved().sessions[cli.baseUrl]!.accessToken
  const file = path.join(tempDir(t), 'Bracket.3mf')
  fs.writeFileSync(file, SLICED)

  const up = await cli.json(['projects', 'upload', file])
  assert.deepEqual(up.plates, [2])
  assert.equal(up.project.name, 'Bracket', 'the name defaults to the file name without .3mf')
  assert.equal(up.project.download_md5, createHash('md5').update(SLICED).digest('hex'))
  const detail = await cli.api(`/v1/iot-service/api/user/project/${up.project_id}`, token)
  assert.equal(detail.profiles[0].profile_id, up.profile_id)

  // show --json: exactly the API's answer (signed links included).
  assert.deepEqual(await cli.json(['projects', 'show', up.project_id]), await cli.api(`/v1/iot-service/api/user/project/${up.project_id}`, token))
  // The lines: the project's fields, then a line per plate (time, weight, sliced, filaments).
  const lines = plainLines(await cli.ok(['projects', 'show', up.project_id]))
  assert.deepEqual(lines, [
    `Project\t${up.project_id}`,
    'Name\tBracket',
    `Model\t${up.model_id}`,
    `Updated\t${detail.update_time}`,
    `MD5\t${detail.download_md5}`,
    `Profile ${up.profile_id} (P1S, 0.4 mm)`,
    '1\t30m 00s\t7.25 g\tno\tPETG #FF6A13 7.25 g',
    '2\t1h 23m\t31.5 g\tyes\tPLA #000000 21.00 g, PLA #FFFFFF 10.50 g, PETG #ff6a13 0.00 g',
  ])

  // Without --json: the ids, one per line; no progress escapes without a terminal.
  const out = await cli.ok(['projects', 'upload', file, '--name', 'Second', '--plates', 'none'])
  assert.doesNotMatch(out, /\x1b|\r/)
  const fields = Object.fromEntries(plainLines(out).map((l) => l.split('\t') as [string, string]))
  assert.deepEqual(Object.keys(fields), ['Project', 'Model', 'Profile', 'Plates', 'MD5'])
  assert.equal(fields.Plates, '-')
  assert.deepEqual((await cli.json(['projects'])).map((p: { name: string }) => p.name), ['Second', 'Bracket'])
})

test('projects upload: a missing file is a usage error (2); a file the server refuses fails with its reason (1)', async (t) => {
  const cli = await startCli(t, { signedUrls: true })
  await cli.createUser('ada@example.com')
  await cli.login('ada@example.com')
  const dir = tempDir(t)

  const missing = await cli.run(['projects', 'upload', path.join(dir, 'nope.3mf')])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /^error: cannot read .*nope\.3mf\n$/)

  const broken = path.join(dir, 'broken.3mf')
  fs.writeFileSync(broken, 'not a zip')
  const refused = await cli.run(['projects', 'upload', broken])
  assert.equal(refused.code, 1, refused.stderr)
  assert.match(refused.stderr, /^error: .*(zip|3MF).*\(code 1016, HTTP 422\)\n$/i)

  const bad = await cli.run(['projects', 'show', 'abc'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /not a project id: abc/)
})
