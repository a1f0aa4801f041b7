/**
 * What a sliced 3MF says about itself, read the way Bambu Studio writes it: plates,
 * predictions, weights and filaments from `Metadata/slice_info.config`, printer and nozzle
 * from `Metadata/project_settings.config`, and which thumbnails, G-code and config files
 * are inside. Only metadata and thumbnails are inflated; the G-code is only looked up.
 */
import { childrenNamed, parseXml, XmlError, type XmlElement } from './xml.ts'
import { checkEntry, checkRatios, ENTRY_LIMITS, readEntry, readZipDirectory, verifyEntry, ZipError, type EntryLimits, type RandomAccessFile, type ZipEntry } from './zip-reader.ts'

export interface PlateFilament {
  id: string
  type: string
  color: string
  used_m: string
  used_g: string
}

export interface ThreeMfPlate {
  index: number
  /** Seconds. */
  prediction: number
  /** Grams. */
  weight: number
  /** Entry names inside the archive, or null when absent. */
  thumbnail: string | null
  gcode: string | null
  filaments: PlateFilament[]
}

export interface ThreeMfFacts {
  compatibility: { dev_model_name: string; dev_product_name: string; nozzle_diameter: number }
  /** Entry names of the config files present, in the cloud's order. */
  configs: string[]
  plates: ThreeMfPlate[]
}

/** A file we refuse; the message is fit to show the uploader. */
export class ThreeMfError extends Error {
  override readonly name = 'ThreeMfError'
}

const SLICE_INFO = 'Metadata/slice_info.config'
const PROJECT_SETTINGS = 'Metadata/project_settings.config'
const MODEL_SETTINGS = 'Metadata/model_settings.config'
const CONFIGS = [PROJECT_SETTINGS, MODEL_SETTINGS, SLICE_INFO]
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** G-code is never inflated here, but one compressed like a bomb still fails the file. */
export const GCODE_LIMITS: EntryLimits = { ...ENTRY_LIMITS, maxBytes: Number.MAX_SAFE_INTEGER }

/** Studio's printer names and the model codes printers report (`dev_model_name`). */
const MODEL_CODES: Record<string, string> = {
  'Bambu Lab X1 Carbon': 'BL-P001',
  'Bambu Lab X1': 'BL-P002',
  'Bambu Lab X1E': 'C13',
  'Bambu Lab P1P': 'C11',
  'Bambu Lab P1S': 'C12',
  'Bambu Lab A1 mini': 'N1',
  'Bambu Lab A1': 'N2S',
  'Bambu Lab H2D': 'O1D',
}
const PRODUCT_NAMES: Record<string, string> = Object.fromEntries(
  Object.entries(MODEL_CODES).map(([name, code]) => [code, name.replace(/^Bambu Lab /, '')]),
)

function text(buf: Buffer): string {
  return buf.toString('utf8').replace(/^\uFEFF/, '')
}

async function readConfig(file: RandomAccessFile, entries: Map<string, ZipEntry>, name: string): Promise<string> {
  const entry = entries.get(name)
  if (!entry) throw new ThreeMfError(`${name} is missing; is the file sliced?`)
  return text(await readEntry(file, entry))
}

function metadataOf(element: XmlElement): Map<string, string> {
  const out = new Map<string, string>()
  for (const m of childrenNamed(element, 'metadata')) {
    const key = m.attributes.key
    if (key !== undefined && !out.has(key)) out.set(key, m.attributes.value ?? '')
  }
  return out
}

/** The 3MF writes numbers as text; an unreadable one counts as 0. */
function number(value: string | undefined): number {
  const n = value === undefined ? Number.NaN : Number.parseFloat(value)
  return Number.isFinite(n) ? n : 0
}

function parsePlates(xml: string, entries: Map<string, ZipEntry>) {
  let root: XmlElement
  try {
    root = parseXml(xml)
  } catch (err) {
    if (err instanceof XmlError) throw new ThreeMfError(`${SLICE_INFO} is not well-formed XML (${err.message})`)
    throw err
  }
  const plates: ThreeMfPlate[] = []
  let modelCode = ''
  let nozzle = 0
  for (const element of childrenNamed(root, 'plate')) {
    const meta = metadataOf(element)
    const rawIndex = meta.get('index') ?? ''
    const index = /^\d{1,4}$/.test(rawIndex) ? Number(rawIndex) : 0
    if (index < 1) throw new ThreeMfError(`A plate in ${SLICE_INFO} has no valid index`)
    if (plates.some((p) => p.index === index)) throw new ThreeMfError(`${SLICE_INFO} lists plate ${index} twice`)
    const filaments = childrenNamed(element, 'filament').map((f) => ({
      id: f.attributes.id ?? '',
      type: f.attributes.type ?? '',
      color: f.attributes.color ?? '',
      used_m: f.attributes.used_m ?? '',
      used_g: f.attributes.used_g ?? '',
    }))
    const thumbnail = `Metadata/plate_${index}.png`
    const gcode = `Metadata/plate_${index}.gcode`
    plates.push({
      index,
      prediction: Math.round(number(meta.get('prediction'))),
      // Without a weight of its own, a plate weighs what its filaments do.
      weight: meta.has('weight') ? number(meta.get('weight')) : filaments.reduce((sum, f) => sum + number(f.used_g), 0),
      thumbnail: entries.has(thumbnail) ? thumbnail : null,
      gcode: entries.has(gcode) ? gcode : null,
      filaments,
    })
    modelCode ||= meta.get('printer_model_id') ?? ''
    nozzle ||= number(meta.get('nozzle_diameters'))
  }
  if (plates.length === 0) throw new ThreeMfError(`${SLICE_INFO} lists no plate`)
  plates.sort((a, b) => a.index - b.index)
  return { plates, modelCode, nozzle }
}

function parseSettings(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json)
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // Reported below, as for any other non-object.
  }
  throw new ThreeMfError(`${PROJECT_SETTINGS} is not a JSON object`)
}

function first(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined
}

/** The archive's directory, refused when any entry looks like a zip bomb. */
async function readDirectory(file: RandomAccessFile): Promise<Map<string, ZipEntry>> {
  const entries = await readZipDirectory(file)
  checkRatios(entries.values())
  return entries
}

/** Runs `work`, reporting a damaged zip as a refused 3MF. */
async function refusing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    if (err instanceof ZipError) throw new ThreeMfError(err.message)
    throw err
  }
}

async function checkModelSettings(file: RandomAccessFile, entry: ZipEntry | undefined): Promise<void> {
  if (!entry) return
  try {
    parseXml(text(await readEntry(file, entry)))
  } catch (err) {
    if (err instanceof XmlError) throw new ThreeMfError(`${MODEL_SETTINGS} is not well-formed XML (${err.message})`)
    throw err
  }
}

/** Reads a 3MF's facts; throws ThreeMfError for a file we refuse. */
export function readThreeMf(file: RandomAccessFile): Promise<ThreeMfFacts> {
  return refusing(async () => {
    const entries = await readDirectory(file)
    const { plates, modelCode, nozzle } = parsePlates(await readConfig(file, entries, SLICE_INFO), entries)
    const settings = parseSettings(await readConfig(file, entries, PROJECT_SETTINGS))
    await checkModelSettings(file, entries.get(MODEL_SETTINGS))
    for (const plate of plates) {
      if (plate.thumbnail) {
        const head = await verifyEntry(file, entries.get(plate.thumbnail)!, ENTRY_LIMITS, PNG.length)
        if (!head.equals(PNG)) throw new ThreeMfError(`${plate.thumbnail} is not a PNG image`)
      }
      if (plate.gcode) checkEntry(entries.get(plate.gcode)!, GCODE_LIMITS)
    }
    const printerModel = first(settings.printer_model) ?? ''
    const code = modelCode || MODEL_CODES[printerModel] || ''
    return {
      compatibility: {
        dev_model_name: code,
        dev_product_name: PRODUCT_NAMES[code] ?? printerModel.replace(/^Bambu Lab /, ''),
        nozzle_diameter: number(first(settings.nozzle_diameter)) || nozzle,
      },
      configs: CONFIGS.filter((name) => entries.has(name)),
      plates,
    }
  })
}

/** Checks that a file is a zip within the limits, reading its directory only. */
export function checkArchive(file: RandomAccessFile): Promise<void> {
  return refusing(async () => {
    await readDirectory(file)
  })
}

/**
 * The G-code of a plate in a print-ready 3MF: `Metadata/plate_<plate>.gcode`, or the only
 * G-code there is (a file exported for one plate may number it 1). Null when it has none.
 */
export function findPlateGcode(file: RandomAccessFile, plate: number): Promise<string | null> {
  return refusing(async () => {
    const entries = await readDirectory(file)
    const exact = `Metadata/plate_${plate}.gcode`
    const all = [...entries.keys()].filter((n) => /^Metadata\/plate_\d+\.gcode$/.test(n))
    const name = entries.has(exact) ? exact : all.length === 1 ? all[0]! : null
    if (name) checkEntry(entries.get(name)!, GCODE_LIMITS)
    return name
  })
}

export interface PlateDetails {
  /** The plate's bed type (`Metadata/plate_<N>.json`'s `bed_type`, e.g. `textured_plate`), or null. */
  bedType: string | null
  /** The entry name of the plate's thumbnail, or null. */
  thumbnail: string | null
}

/** What a task shows of a plate beyond slice_info: its bed type and thumbnail. Unreadable parts are null. */
export function readPlateDetails(file: RandomAccessFile, plate: number): Promise<PlateDetails> {
  return refusing(async () => {
    const entries = await readZipDirectory(file)
    const thumbnail = `Metadata/plate_${plate}.png`
    const json = entries.get(`Metadata/plate_${plate}.json`)
    let bedType: string | null = null
    if (json) {
      try {
        const value: unknown = JSON.parse(text(await readEntry(file, json)))
        const raw = typeof value === 'object' && value !== null ? (value as { bed_type?: unknown }).bed_type : undefined
        if (typeof raw === 'string' && raw !== '') bedType = raw
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err
      }
    }
    return { bedType, thumbnail: entries.has(thumbnail) ? thumbnail : null }
  })
}
