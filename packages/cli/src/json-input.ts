/** Reading JSON objects from files, stdin (`-`) or the command line, and writing them to files. */
import fs from 'node:fs'
import { UsageError } from './errors.ts'

/**
 * Parses `text` as a JSON object; anything else is a usage error naming `source`.
 *
 * @example
 * parseJsonObject('{"print":{"command":"push_status"}}', 'the report')
 */
export function parseJsonObject(text: string, source: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`${source} is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${source} is not a JSON object`)
  return value as Record<string, unknown>
}

/**
 * Reads a JSON object from a file, or from stdin when `file` is `-`.
 *
 * @example
 * const preset = readJsonFile('my-petg.json')
 */
export function readJsonFile(file: string): Record<string, unknown> {
  let text: string
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read ${file === '-' ? 'stdin' : file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return parseJsonObject(text, file === '-' ? 'stdin' : file)
}

/** Writes a value as indented JSON to a file. */
export function writeJsonFile(file: string, value: unknown): void {
  try {
    fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)
  } catch (err) {
    throw new UsageError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

/** Fields a read preset carries that are the server's, not the preset's: left out when saving one. */
const SERVER_FIELDS = ['message', 'code', 'error', 'public', 'update_time']

/**
 * A preset as read from a file, without the fields only the server sets, so the output of
 * `settings get --json` or `settings export` can be saved again.
 */
export function presetBody(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !SERVER_FIELDS.includes(key)))
}
