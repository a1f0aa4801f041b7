#!/usr/bin/env node
// Fails when a package imports what its package.json does not declare, when one package
// reaches into another's directory by a relative path, or when a migration imports live
// code (a migration is frozen history). Usage: node scripts/check-imports.mjs [repo root]
//
// Rules. A bare specifier names a package: `src/` and `bin/` files may use their package's
// dependencies, peerDependencies and optionalDependencies (and its own name); `test/` files
// also its devDependencies and everything the root package.json declares; root `bench/` and
// `scripts/` files use the root's. Type-only imports need the package too (its types come
// from it), or its `@types/` package (declared there or in the root). Node builtins need
// nothing. Migrations (`src/db/migrations/`) import only each other, node builtins and kysely.
import fs from 'node:fs'
import path from 'node:path'
import { builtinModules } from 'node:module'

const root = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '..'))

// Known debt (issue #12): the SDK's and CLI's tests, and the benchmarks, drive a real server
// through the server's test helpers and internals. They move to a shared test-support
// workspace later; until then these reaches, and only these, are allowed.
const KNOWN_CROSS_PACKAGE = [
  ['packages/client/test/', 'packages/server/test/helpers/'],
  ['packages/client/test/', 'packages/server/src/simulator/'],
  ['packages/cli/test/', 'packages/server/test/helpers/'],
  ['packages/cli/test/', 'packages/server/src/'],
  ['bench/', 'packages/server/test/helpers/'],
  ['bench/', 'packages/server/src/'],
]

const MIGRATIONS_DIR = '/src/db/migrations/'
const MIGRATION_PACKAGES = new Set(['kysely'])
const SOURCE = /\.(?:[cm]?[jt]s|tsx)$/
// `import ... from '...'`, `export ... from '...'` and `import '...'`, each at a line's start.
const STATIC = /^[ \t]*(?:import|export)\s+(type\s+)?(?:[\w$*{}\s,]+?\s+from\s*)?(['"])([^'"\n]+)\2/gm
const DYNAMIC = /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*[,)]/g

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'))
const rel = (file) => path.relative(root, file).split(path.sep).join('/')
const names = (...maps) => new Set(maps.flatMap((m) => Object.keys(m ?? {})))

function walk(dir) {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : walk(p)
    return SOURCE.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : []
  })
}

function workspaceDirs(manifest) {
  return (manifest.workspaces ?? []).flatMap((w) => {
    if (!w.endsWith('/*')) return [path.join(root, w)]
    const parent = path.join(root, w.slice(0, -2))
    return fs.readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(parent, e.name))
  })
}

function packageOf(specifier) {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

const isBuiltin = (specifier) => specifier.startsWith('node:') || builtinModules.includes(packageOf(specifier))
const typesPackage = (pkg) => `@types/${pkg.startsWith('@') ? pkg.slice(1).replace('/', '__') : pkg}`

/** Every import of a file: its specifier and whether only types come from it. */
function importsOf(text) {
  const found = []
  for (const m of text.matchAll(STATIC)) found.push({ specifier: m[3], typeOnly: Boolean(m[1]) })
  for (const m of text.matchAll(DYNAMIC)) {
    const line = text.slice(text.lastIndexOf('\n', m.index) + 1, m.index).trimStart()
    if (!line.startsWith('//') && !line.startsWith('*') && !line.startsWith('/*')) found.push({ specifier: m[2], typeOnly: false })
  }
  return found
}

const rootManifest = readJson(path.join(root, 'package.json'))
const rootDeclared = names(rootManifest.dependencies, rootManifest.devDependencies, rootManifest.peerDependencies, rootManifest.optionalDependencies)
rootDeclared.add(rootManifest.name)

const units = workspaceDirs(rootManifest).map((dir) => {
  const manifest = readJson(path.join(dir, 'package.json'))
  const runtime = names(manifest.dependencies, manifest.peerDependencies, manifest.optionalDependencies)
  runtime.add(manifest.name)
  return {
    dir,
    files: ['src', 'bin', 'test'].flatMap((d) => walk(path.join(dir, d))),
    allowed: (file) => (rel(file).startsWith(`${rel(dir)}/test/`) ? new Set([...runtime, ...names(manifest.devDependencies), ...rootDeclared]) : runtime),
  }
})
units.push({ dir: root, files: ['bench', 'scripts'].flatMap((d) => walk(path.join(root, d))), allowed: () => rootDeclared })

/** The package whose directory holds a file: the deepest workspace, else the root. */
const ownerOf = (file) => units.filter((u) => u.dir === root || file.startsWith(u.dir + path.sep)).sort((a, b) => b.dir.length - a.dir.length)[0]

const offences = []
let checked = 0
for (const unit of units) {
  for (const file of unit.files) {
    checked++
    const from = rel(file)
    const allowed = unit.allowed(file)
    const isMigration = from.includes(MIGRATIONS_DIR)
    for (const { specifier, typeOnly } of importsOf(fs.readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.') || specifier.startsWith('/')) {
        const target = path.resolve(path.dirname(file), specifier)
        const to = rel(target)
        if (isMigration && !target.startsWith(path.dirname(file) + path.sep)) {
          offences.push(`${from}: '${specifier}': a migration imports only other migrations, node builtins and kysely`)
        } else if (ownerOf(target) !== unit && !KNOWN_CROSS_PACKAGE.some(([a, b]) => from.startsWith(a) && to.startsWith(b))) {
          offences.push(`${from}: '${specifier}': reaches into another package (${to}); import it by its package name`)
        }
        continue
      }
      if (specifier.startsWith('#') || isBuiltin(specifier)) continue
      const pkg = packageOf(specifier)
      if (isMigration && !MIGRATION_PACKAGES.has(pkg)) {
        offences.push(`${from}: '${specifier}': a migration imports only other migrations, node builtins and kysely`)
      } else if (!allowed.has(pkg) && !(typeOnly && (allowed.has(typesPackage(pkg)) || rootDeclared.has(typesPackage(pkg))))) {
        offences.push(`${from}: '${specifier}': package ${pkg} is not declared in ${rel(path.join(unit.dir, 'package.json'))}`)
      }
    }
  }
}

for (const line of offences) console.error(line)
if (offences.length > 0) {
  console.error(`check-imports: ${offences.length} undeclared or out-of-bounds import(s) in ${checked} files`)
  process.exit(1)
}
console.log(`check-imports: ${checked} files, every import declared`)
