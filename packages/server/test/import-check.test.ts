/**
 * The import check (`npm run check:imports`): it names each undeclared package, each reach
 * into another package's directory and each migration importing live code, and the
 * repository itself passes it. The server's declared entry is real.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as server from '@bambu-cloud/server'

const repoRoot = path.resolve(import.meta.dirname, '../../..')
const checker = path.join(repoRoot, 'scripts/check-imports.mjs')

function runChecker(...args: string[]) {
  return spawnSync(process.execPath, [checker, ...args], { encoding: 'utf8' })
}

function writeTree(root: string, files: Record<string, string | object>) {
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true })
    fs.writeFileSync(path.join(root, file), typeof content === 'string' ? content : JSON.stringify(content))
  }
}

test('the check fails naming each undeclared package, cross-package reach and migration importing live code', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bambu-cloud-import-check-'))
  t.after(() => fs.rmSync(root, { recursive: true, force: true }))
  writeTree(root, {
    'package.json': { name: 'fake', workspaces: ['packages/*'], devDependencies: { '@types/typed-only': '1.0.0', 'root-tool': '1.0.0' } },
    'packages/a/package.json': { name: '@fake/a', dependencies: { declared: '1.0.0', kysely: '1.0.0' }, devDependencies: { 'test-only': '1.0.0' } },
    'packages/b/package.json': { name: '@fake/b' },
    'packages/b/src/index.ts': 'export const b = 1\n',
    'packages/a/src/index.ts': [
      "import fs from 'node:fs'",
      "import { d } from 'declared/sub/path'",
      "import type { T } from 'typed-only'",
      "import { self } from '@fake/a'",
      "import { x } from 'undeclared'",
      "import { y } from 'test-only'",
      "export { z } from 'exported-undeclared'",
      // Named after a package this repository's tests declare: the check reads this file too.
      "const lazy = await import('fast-check')",
      '',
    ].join('\n'),
    'packages/a/src/db/migrations/0001_first.ts': [
      "import { sql } from 'kysely'",
      "import type { Other } from './0000_other.ts'",
      "import { liveRule } from '../../services/rules.ts'",
      "import { declared } from 'declared'",
      '',
    ].join('\n'),
    'packages/a/test/a.test.ts': [
      "import { y } from 'test-only'",
      "import { tool } from 'root-tool'",
      "import { b } from '../../b/src/index.ts'",
      '',
    ].join('\n'),
    'scripts/tool.mjs': "import { a } from '../packages/a/src/index.ts'\n",
  })

  const result = runChecker(root)

  assert.equal(result.status, 1)
  assert.deepEqual(result.stderr.trim().split('\n').sort(), [
    "check-imports: 8 undeclared or out-of-bounds import(s) in 5 files",
    "packages/a/src/db/migrations/0001_first.ts: '../../services/rules.ts': a migration imports only other migrations, node builtins and kysely",
    "packages/a/src/db/migrations/0001_first.ts: 'declared': a migration imports only other migrations, node builtins and kysely",
    "packages/a/src/index.ts: 'exported-undeclared': package exported-undeclared is not declared in packages/a/package.json",
    "packages/a/src/index.ts: 'fast-check': package fast-check is not declared in packages/a/package.json",
    "packages/a/src/index.ts: 'test-only': package test-only is not declared in packages/a/package.json",
    "packages/a/src/index.ts: 'undeclared': package undeclared is not declared in packages/a/package.json",
    "packages/a/test/a.test.ts: '../../b/src/index.ts': reaches into another package (packages/b/src/index.ts); import it by its package name",
    "scripts/tool.mjs: '../packages/a/src/index.ts': reaches into another package (packages/a/src/index.ts); import it by its package name",
  ])
})

test('the repository passes the check', () => {
  const result = runChecker()
  assert.equal(result.stderr, '')
  assert.equal(result.status, 0)
  assert.match(result.stdout, /^check-imports: \d+ files, every import declared\n$/)
})

test("the server package's declared entry exports what configures, migrates and builds a server", () => {
  assert.deepEqual(Object.keys(server).sort(), ['ConfigError', 'buildApp', 'loadConfig', 'migrateToLatest', 'openDatabase'])
  assert.equal(typeof server.buildApp, 'function')
  assert.equal(typeof server.migrateToLatest, 'function')
})
