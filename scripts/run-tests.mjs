#!/usr/bin/env node
// Runs every packages/*/test/**/*.test.ts file with node's test runner (TypeScript via tsx).
// Node 20's runner takes no globs, so the files are listed here.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..')
const filter = process.argv.slice(2)

function walk(dir) {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : walk(p)
    return e.name.endsWith('.test.ts') ? [p] : []
  })
}

const files = fs
  .readdirSync(path.join(root, 'packages'))
  .flatMap((pkg) => walk(path.join(root, 'packages', pkg, 'test')))
  .map((f) => path.relative(root, f))
  // Matched against the path inside the repository, wherever the checkout lives.
  .filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)))
  .sort()

if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}
console.log(`running ${files.length} test files on ${process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL' : 'SQLite'}`)
const result = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  cwd: root,
  stdio: 'inherit',
})
process.exit(result.status ?? 1)
