/** README's configuration table is the one the settings schema generates. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { settings } from '../src/config.ts'
import { README_PATH, configTable, withConfigTable } from '../src/config-docs.ts'

test('README\'s configuration table equals the table generated from the settings schema', () => {
  const readme = fs.readFileSync(README_PATH, 'utf8')
  const documented = readme.split('\n')
  const generated = withConfigTable(readme).split('\n')
  const first = generated.findIndex((line, i) => line !== documented[i])
  assert.equal(
    first,
    -1,
    `README's configuration table differs from the settings schema in packages/server/src/config.ts at README line ${first + 1}:\n` +
      `  README:    ${documented[first]}\n  generated: ${generated[first]}\nrun \`npm run docs:config\` to regenerate it`,
  )
})

test('the generated table names every setting once, each with a default and a meaning', () => {
  const rows = configTable().split('\n').slice(2)
  const named = rows.flatMap((row) => [...row.split(' | ')[0]!.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]))
  assert.deepEqual(named, Object.keys(settings))
  for (const row of rows) {
    const [, defaultCell, meaning] = row.slice(2, -2).split(' | ')
    assert.ok(defaultCell && meaning && meaning !== 'undefined', row)
  }
})
