/**
 * 3MF files laid out as Bambu Studio writes them: the 3MF package files, the model,
 * `Metadata/slice_info.config` (plates, predictions, filaments), the project and model
 * settings, a thumbnail per plate and, for sliced plates, the G-code. The demo's sample
 * project and the tests' fixtures are built here.
 */
import { readFileSync } from 'node:fs'
import { crc32 } from 'node:zlib'
import { writeZip, type ZipInput } from '../lib/zip-writer.ts'

export interface FixtureFilament {
  id: string
  type: string
  color: string
  used_m: string
  used_g: string
}

export interface FixturePlate {
  index: number
  prediction: number
  /** As the file writes it, e.g. `12.60`. */
  weight: string
  filaments: FixtureFilament[]
  /** Default true. */
  thumbnail?: boolean
  /** The plate's G-code, when the file carries it. */
  gcode?: string
}

export interface Fixture {
  plates: FixturePlate[]
  printerModel?: string
  printerModelId?: string
  nozzle?: string
  /** Entries to leave out, by name. */
  omit?: string[]
  /** Entries to replace or add, by name. */
  entries?: Record<string, Buffer | string>
  /** Extra zip inputs (hostile entries). */
  extra?: ZipInput[]
}

const SAMPLE_PLATE_PNG = readFileSync(new URL('../../assets/sample-plate.png', import.meta.url))

/** A small PNG, different per plate: the sample image with a `tEXt` chunk naming the plate before its `IEND`. */
export function plateImage(index: number): Buffer {
  const text = Buffer.from(`Plate\0${index}`, 'latin1')
  const chunk = Buffer.alloc(12 + text.length)
  chunk.writeUInt32BE(text.length, 0)
  chunk.write('tEXt', 4, 'latin1')
  text.copy(chunk, 8)
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + text.length)), 8 + text.length)
  const iend = SAMPLE_PLATE_PNG.length - 12
  return Buffer.concat([SAMPLE_PLATE_PNG.subarray(0, iend), chunk, SAMPLE_PLATE_PNG.subarray(iend)])
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')
}

export function sliceInfo(f: Fixture): string {
  const plates = f.plates.map(
    (p) => `  <plate>
    <metadata key="index" value="${p.index}"/>
    <metadata key="extruder_type" value="0"/>
    <metadata key="nozzle_volume_type" value="0"/>
    <metadata key="printer_model_id" value="${f.printerModelId ?? 'C12'}"/>
    <metadata key="nozzle_diameters" value="${f.nozzle ?? '0.4'}"/>
    <metadata key="timelapse_type" value="0"/>
    <metadata key="prediction" value="${p.prediction}"/>
    <metadata key="weight" value="${p.weight}"/>
    <metadata key="outside" value="false"/>
    <metadata key="support_used" value="false"/>
    <metadata key="label_object_enabled" value="true"/>
    <object identify_id="${70 + p.index}" name="Part &amp; holder ${p.index}" skipped="false" />
${p.filaments.map((x) => `    <filament id="${esc(x.id)}" tray_info_idx="GFA00" type="${esc(x.type)}" color="${esc(x.color)}" used_m="${esc(x.used_m)}" used_g="${esc(x.used_g)}" />`).join('\n')}
    <warning msg="bed_temperature_too_high_than_filament" level="1" error_code ="1000C001"  />
    <layer_filament_lists>
      <layer_filament_list filament_list="0" layer_ranges="0 99" />
    </layer_filament_lists>
  </plate>`,
  )
  return `<?xml version="1.0" encoding="UTF-8"?>
<config>
  <header>
    <header_item key="X-BBL-Client-Type" value="slicer"/>
    <header_item key="X-BBL-Client-Version" value="01.09.07.52"/>
  </header>
${plates.join('\n')}
</config>
`
}

export function projectSettings(f: Fixture): string {
  const model = f.printerModel ?? 'Bambu Lab P1S'
  const nozzle = f.nozzle ?? '0.4'
  return JSON.stringify(
    {
      printer_model: model,
      printer_settings_id: `${model} ${nozzle} nozzle`,
      printer_variant: nozzle,
      nozzle_diameter: [nozzle],
      filament_type: ['PLA', 'PETG'],
      filament_colour: ['#00AE42', '#FFFFFF'],
      layer_height: '0.2',
      from: 'project',
      version: '01.09.07.52',
    },
    null,
    4,
  )
}

const MODEL_SETTINGS = `<?xml version="1.0" encoding="UTF-8"?>
<config>
  <object id="2">
    <metadata key="name" value="Part"/>
    <metadata key="extruder" value="1"/>
    <part id="1" subtype="normal_part">
      <metadata key="name" value="Part"/>
      <metadata key="matrix" value="1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1"/>
    </part>
  </object>
  <plate>
    <metadata key="plater_id" value="1"/>
    <metadata key="plater_name" value=""/>
    <metadata key="thumbnail_file" value="Metadata/plate_1.png"/>
  </plate>
</config>
`

const CONTENT_TYPES = `<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="model" ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/><Default Extension="png" ContentType="image/png"/><Default Extension="gcode" ContentType="text/x.gcode"/></Types>`

const RELS = `<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Target="/3D/3dmodel.model" Id="rel-1" Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/></Relationships>`

const MODEL = `<?xml version="1.0" encoding="UTF-8"?>
<model unit="millimeter" xml:lang="en-US" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">
 <metadata name="Application">BambuStudio-01.09.07.52</metadata>
 <resources><object id="2" type="model"><mesh><vertices><vertex x="0" y="0" z="0"/><vertex x="1" y="0" z="0"/><vertex x="0" y="1" z="0"/></vertices><triangles><triangle v1="0" v2="1" v3="2"/></triangles></mesh></object></resources>
 <build><item objectid="2" printable="1"/></build>
</model>`

/** The files of a fixture, by name, in the order Studio writes them. */
export function fixtureEntries(f: Fixture): Map<string, Buffer | string> {
  const entries = new Map<string, Buffer | string>([
    ['[Content_Types].xml', CONTENT_TYPES],
    ['_rels/.rels', RELS],
    ['3D/3dmodel.model', MODEL],
  ])
  for (const p of f.plates) {
    if (p.gcode !== undefined) {
      entries.set(`Metadata/plate_${p.index}.gcode`, p.gcode)
      entries.set(`Metadata/plate_${p.index}.gcode.md5`, 'not checked by the server')
    }
    if (p.thumbnail !== false) {
      entries.set(`Metadata/plate_${p.index}.png`, plateImage(p.index))
      entries.set(`Metadata/plate_${p.index}_small.png`, plateImage(p.index + 100))
    }
    entries.set(`Metadata/plate_${p.index}.json`, JSON.stringify({ bed_type: 'textured_plate', nozzle_diameter: 0.4, version: 2 }))
  }
  entries.set('Metadata/model_settings.config', MODEL_SETTINGS)
  entries.set('Metadata/project_settings.config', projectSettings(f))
  entries.set('Metadata/slice_info.config', sliceInfo(f))
  for (const [name, data] of Object.entries(f.entries ?? {})) entries.set(name, data)
  for (const name of f.omit ?? []) entries.delete(name)
  return entries
}

export function buildThreeMf(f: Fixture): Buffer {
  const inputs: ZipInput[] = [...fixtureEntries(f)].map(([name, data]) => ({ name, data, method: name.endsWith('.png') ? 'store' : 'deflate' }))
  return writeZip([...inputs, ...(f.extra ?? [])])
}
