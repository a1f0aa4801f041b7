/**
 * README's configuration table, generated from the settings schema so the two cannot drift.
 * `npm run docs:config` rewrites the table between README's config markers.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TSchema } from '@sinclair/typebox'
import { settings } from './config.ts'

export const README_PATH = path.resolve(import.meta.dirname, '../../../README.md')
const START = '<!-- config:start -->'
const END = '<!-- config:end -->'

function defaultCell(schema: TSchema): string {
  if (schema.defaultText) return schema.defaultText
  return schema.default === undefined ? 'none' : `\`${String(schema.default)}\``
}

/** The markdown table: one row per setting, in the schema's order; a `documentedWith` setting shares its partner's row. */
export function configTable(): string {
  const entries = Object.entries(settings) as [string, TSchema][]
  const rows = entries
    .filter(([, schema]) => !schema.documentedWith)
    .map(([name, schema]) => {
      const names = [name, ...entries.filter(([, other]) => other.documentedWith === name).map(([other]) => other)]
      return `| ${names.map((n) => `\`${n}\``).join(', ')} | ${defaultCell(schema)} | ${schema.description} |`
    })
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n')
}

/** README's text with the table between the markers replaced by the generated one. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start < 0 || end < start) throw new Error(`README has no ${START} ... ${END} region`)
  return `${readme.slice(0, start + START.length)}\n${configTable()}\n${readme.slice(end)}`
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  fs.writeFileSync(README_PATH, withConfigTable(fs.readFileSync(README_PATH, 'utf8')))
}
