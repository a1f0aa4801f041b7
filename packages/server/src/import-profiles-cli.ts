/**
 * `npm run import-profiles -- DIR [--json]`: loads a Bambu Studio profile tree (e.g.
 * Studio's `resources/profiles`, or one vendor folder of it) into the public presets of
 * DATABASE_URL, after applying pending migrations. Re-running updates, never duplicates.
 *
 *     npm run import-profiles -- ~/BambuStudio/resources/profiles
 *
 * Exit 0 when the import ran (presets it had to leave out are listed on stderr), 1 when
 * it could not run at all.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { ConfigError, loadConfig } from './config.ts'
import { loadSecretsKey } from './data-dir.ts'
import { openDatabase } from './db/database.ts'
import { migrateToLatest } from './db/migrate.ts'
import { ApiError } from './errors.ts'
import type { ProfileFiles } from './lib/profile-tree.ts'
import { SecretBox } from './lib/secret-box.ts'
import { SlicerSettingService } from './services/slicer-settings.ts'

const USAGE = 'usage: npm run import-profiles -- DIR [--json]'

/** Every `.json` file under `dir`, keyed by its `/`-separated path relative to `dir`. */
function readTree(dir: string): { files: ProfileFiles; unreadable: { file: string; message: string }[] } {
  const files: ProfileFiles = {}
  const unreadable: { file: string; message: string }[] = []
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub === '' ? entry.name : `${sub}/${entry.name}`
      if (entry.isDirectory()) walk(rel)
      else if (entry.isFile() && entry.name.toLowerCase().endsWith('.json')) {
        try {
          files[rel] = JSON.parse(fs.readFileSync(path.join(dir, rel), 'utf8'))
        } catch (err) {
          unreadable.push({ file: rel, message: `not readable JSON: ${(err as Error).message}` })
        }
      }
    }
  }
  walk('')
  return { files, unreadable }
}

/** The service logs nothing here; it still needs a logger to be built. */
const quiet = {
  level: 'silent',
  fatal() {},
  error() {},
  warn() {},
  info() {},
  debug() {},
  trace() {},
  silent() {},
  child() {
    return quiet
  },
} as unknown as FastifyBaseLogger

function fail(message: string): never {
  process.stderr.write(`bambu-cloud: ${message}\n`)
  process.exit(1)
}

const args = process.argv.slice(2)
const json = args.includes('--json')
const dirs = args.filter((a) => a !== '--json')
if (dirs.length !== 1 || dirs[0]!.startsWith('-')) fail(USAGE)
// npm runs scripts from the repository root; a relative DIR means the caller's directory.
const base = process.env.npm_lifecycle_event === 'import-profiles' ? (process.env.INIT_CWD ?? process.cwd()) : process.cwd()
const dir = path.resolve(base, dirs[0]!)
if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) fail(`not a directory: ${dir}`)

try {
  const config = loadConfig()
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  const { files, unreadable } = readTree(dir)
  const database = openDatabase(config.databaseUrl)
  try {
    await migrateToLatest(database)
    const settings = new SlicerSettingService({ config, database, now: Date.now, log: quiet, secrets: new SecretBox(loadSecretsKey(config)) })
    const report = await settings.importProfiles(files)
    report.problems.unshift(...unreadable)
    if (json) {
      process.stdout.write(`${JSON.stringify(report)}\n`)
    } else {
      for (const p of report.problems) process.stderr.write(`skipped ${p.file}: ${p.message}\n`)
      process.stdout.write(`imported ${dir}: ${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged\n`)
    }
  } finally {
    await database.db.destroy()
  }
} catch (err) {
  const prefix = err instanceof ConfigError ? 'configuration error' : 'import failed'
  const message = err instanceof ApiError ? (err.body.message ?? err.message) : err instanceof Error ? err.message : String(err)
  fail(`${prefix}: ${message}`)
}
