/**
 * A profile's `context` in the cloud's shape, from what a 3MF says about itself
 * (lib/three-mf.ts) and the print-ready files attached per plate. Every file in it is a
 * signed download link into the stored 3MF.
 */
import type { ContextFile, ThreeMfContext } from '@bambu-cloud/protocol'
import type { ThreeMfFacts } from '../lib/three-mf.ts'
import type { FileSigner } from './file-links.ts'

const NONE: ContextFile = { name: null, dir: null, url: null }

/** An entry of a stored blob as the context lists files: name, folder, link. */
function fileOf(signer: FileSigner, key: string, entry: string | null): ContextFile {
  if (entry === null) return NONE
  const slash = entry.lastIndexOf('/')
  return { name: entry.slice(slash + 1), dir: slash < 0 ? '' : entry.slice(0, slash), url: signer.download(key, entry) }
}

/** One material per distinct filament type and colour, in the order they first appear. */
function materialsOf(facts: ThreeMfFacts): ThreeMfContext['materials'] {
  const seen = new Set<string>()
  const out: ThreeMfContext['materials'] = []
  for (const plate of facts.plates) {
    for (const f of plate.filaments) {
      const color = f.color.replace(/^#/, '')
      const id = `${f.type}\u0000${color.toUpperCase()}`
      if (seen.has(id)) continue
      seen.add(id)
      out.push({ color, material: f.type })
    }
  }
  return out
}

/** The context of a profile whose 3MF is stored under `key`. */
export function buildContext(facts: ThreeMfFacts, key: string, signer: FileSigner): ThreeMfContext {
  return {
    compatibility: facts.compatibility,
    pictures: null,
    configs: facts.configs.map((entry) => fileOf(signer, key, entry)),
    plates: facts.plates.map((p) => ({
      index: p.index,
      thumbnail: fileOf(signer, key, p.thumbnail),
      prediction: p.prediction,
      weight: p.weight,
      gcode: fileOf(signer, key, p.gcode),
      filaments: p.filaments.map((f) => ({ id: f.id, type: f.type, color: f.color, used_m: f.used_m, used_g: f.used_g })),
    })),
    materials: materialsOf(facts),
    auxiliary_pictures: [],
    auxiliary_bom: [],
    auxiliary_guide: [],
    auxiliary_other: [],
  }
}

export interface AttachedPrint {
  plate_index: number
  blob_key: string
  gcode_entry: string | null
}

/** A plate's G-code comes from its print-ready file once one is attached. */
export function withPrints(context: ThreeMfContext, prints: AttachedPrint[], signer: FileSigner): ThreeMfContext {
  return {
    ...context,
    plates: context.plates.map((plate) => {
      const print = prints.find((p) => p.plate_index === plate.index && p.gcode_entry !== null)
      return print ? { ...plate, gcode: fileOf(signer, print.blob_key, print.gcode_entry) } : plate
    }),
  }
}

/** Whether a stored context is one the server built (it has plates to attach G-code to). */
export function isBuiltContext(value: unknown): value is ThreeMfContext {
  return typeof value === 'object' && value !== null && Array.isArray((value as { plates?: unknown }).plates)
}
