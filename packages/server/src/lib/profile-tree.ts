/**
 * Bambu Studio's profile trees (`resources/profiles/BBL.json` beside `BBL/machine/...`,
 * `BBL/process/...`, `BBL/filament/...`) flattened into presets: every instantiable
 * preset merged over its `inherits` chain. Pure: the caller reads the files.
 */
import path from 'node:path'
import type { SettingType } from '@bambu-cloud/protocol'
import { isObject, type JsonObject } from './json.ts'
import { isVersion } from '@bambu-cloud/protocol'

/** Relative path (`/`-separated) -> the file's parsed JSON. */
export type ProfileFiles = Record<string, unknown>

export interface ResolvedProfile {
  file: string
  type: SettingType
  name: string
  /** The file's own id; null when it names none. */
  setting_id: string | null
  filament_id: string | null
  nickname: string | null
  version: string
  /** The merged preset, without `inherits`. */
  setting: JsonObject
}

export interface ProfileProblem {
  file: string
  message: string
}

const KINDS: Record<string, SettingType> = { machine: 'printer', machine_model: 'printer', process: 'print', filament: 'filament' }
const INDEX_LISTS = ['machine_model_list', 'process_list', 'filament_list', 'machine_list']
/** Used when neither a preset nor a vendor index gives a version: visible to every client. */
export const UNVERSIONED = '00.00.00.00'

interface Entry {
  file: string
  profile: JsonObject
}

/** One vendor: the presets an index lists (or, without an index, every profile file). */
interface Scope {
  version: string | null
  entries: Entry[]
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null)

function isProfile(value: unknown): value is JsonObject {
  return isObject(value) && typeof value.type === 'string' && value.type in KINDS && text(value.name) !== null
}

function scopes(files: ProfileFiles, problems: ProfileProblem[]): Scope[] {
  const indexes = Object.entries(files).filter(([, v]) => isObject(v) && INDEX_LISTS.some((k) => Array.isArray(v[k])))
  if (indexes.length === 0) {
    const entries = Object.entries(files).filter(([, v]) => isProfile(v)).map(([file, v]) => ({ file, profile: v as JsonObject }))
    return [{ version: null, entries }]
  }
  return indexes.map(([indexFile, value]) => {
    const index = value as JsonObject
    const dir = path.posix.dirname(indexFile)
    // Studio keeps `BBL.json` beside a `BBL/` folder; `sub_path` is relative to that folder.
    const vendorDir = path.posix.join(dir, path.posix.basename(indexFile, '.json'))
    const entries: Entry[] = []
    for (const list of INDEX_LISTS) {
      for (const item of Array.isArray(index[list]) ? index[list] : []) {
        const sub = isObject(item) ? text(item.sub_path) : null
        if (sub === null) continue
        const file = [path.posix.join(vendorDir, sub), path.posix.join(dir, sub)].find((f) => f in files)
        if (file === undefined) problems.push({ file: indexFile, message: `lists ${sub}, which is not in the tree` })
        else if (isProfile(files[file])) entries.push({ file, profile: files[file] as JsonObject })
        else problems.push({ file, message: 'not a profile (no known type or no name)' })
      }
    }
    return { version: typeof index.version === 'string' && isVersion(index.version) ? index.version : null, entries }
  })
}

/** The preset merged over its ancestors (nearest wins), or why it cannot be. */
function merge(entry: Entry, byName: Map<string, Entry>): JsonObject | string {
  const chain = [entry.profile]
  const seen = new Set([entry.profile.name as string])
  for (let parent = text(entry.profile.inherits); parent !== null; parent = text(chain.at(-1)!.inherits)) {
    if (seen.has(parent)) return `inherits in a cycle through "${parent}"`
    const found = byName.get(parent)
    if (!found) return `inherits "${parent}", which is not in the tree`
    seen.add(parent)
    chain.push(found.profile)
  }
  const merged: JsonObject = Object.assign({}, ...chain.reverse())
  delete merged.inherits
  // A preset's id is its own: an instantiable parent's id must not leak into a child.
  if (!('setting_id' in entry.profile)) delete merged.setting_id
  return merged
}

export function resolveProfiles(files: ProfileFiles): { profiles: ResolvedProfile[]; problems: ProfileProblem[] } {
  const problems: ProfileProblem[] = []
  const profiles: ResolvedProfile[] = []
  for (const scope of scopes(files, problems)) {
    const byName = new Map<string, Entry>()
    for (const entry of scope.entries) {
      const name = entry.profile.name as string
      const first = byName.get(name)
      if (first && first.file !== entry.file) problems.push({ file: entry.file, message: `duplicate name "${name}" (kept ${first.file})` })
      else byName.set(name, entry)
    }
    for (const entry of byName.values()) {
      const own = entry.profile
      if (own.instantiation !== 'true' && own.instantiation !== true) continue
      const merged = merge(entry, byName)
      if (typeof merged === 'string') {
        problems.push({ file: entry.file, message: merged })
        continue
      }
      const version = typeof merged.version === 'string' && isVersion(merged.version) ? merged.version : scope.version
      profiles.push({
        file: entry.file,
        type: KINDS[own.type as string]!,
        name: own.name as string,
        setting_id: text(own.setting_id),
        filament_id: text(merged.filament_id),
        nickname: text(own.nickname),
        version: version ?? UNVERSIONED,
        setting: merged,
      })
    }
  }
  return { profiles, problems }
}
