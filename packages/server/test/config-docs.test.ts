/** README's configuration table is the one the settings schema generates. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { settings } from '../src/config.ts'
import { README_PATH, configTable, withConfigTable } from '../src/config-docs.ts'

test('README\'s configuration table equals the table generated from the settings schema', () => {
  const readme = fs.readFileSync(README_PATH, 'utf8')
  assert.equal(readme, withConfigTable(readme), 'README\'s configuration table differs from the settings schema in packages/server/src/config.ts: run `npm run docs:config`')
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
