/**
 * Reading 3MF files: the zip reader's limits, the XML reader, and the facts a sliced
 * file yields (lib/three-mf.ts), on fixtures built here.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { findPlateGcode, readThreeMf, ThreeMfError } from '../src/lib/three-mf.ts'
import { parseXml, XmlError } from '../src/lib/xml.ts'
import { openEntry, readEntry, readZipDirectory, ZipError } from '../src/lib/zip-reader.ts'
import { bufferFile, buildThreeMf, plateImage, SEED_PLATE, TWO_PLATES, type Fixture } from './helpers/three-mf.ts'
import { writeZip } from '../src/lib/zip-writer.ts'

const MiB = 1024 * 1024

async function refused(fixture: Fixture | Buffer, message: RegExp) {
  const buf = Buffer.isBuffer(fixture) ? fixture : buildThreeMf(fixture)
  await assert.rejects(readThreeMf(bufferFile(buf)), (err: unknown) => {
    assert.ok(err instanceof ThreeMfError, `a ThreeMfError, got ${String(err)}`)
    assert.match(err.message, message)
    return true
  })
}

test('one plate, one filament: the seed’s own values come back as the file holds them', async () => {
  const facts = await readThreeMf(bufferFile(buildThreeMf({ plates: [SEED_PLATE], printerModel: 'Bambu Lab X1 Carbon', printerModelId: 'BL-P001' })))
  assert.deepEqual(facts, {
    compatibility: { dev_model_name: 'BL-P001', dev_product_name: 'X1 Carbon', nozzle_diameter: 0.4 },
    configs: ['Metadata/project_settings.config', 'Metadata/model_settings.config', 'Metadata/slice_info.config'],
    plates: [
      {
        index: 1,
        prediction: 3348,
        weight: 12.6,
        thumbnail: 'Metadata/plate_1.png',
        gcode: null,
        filaments: [{ id: '1', type: 'PLA', color: '#00AE42', used_m: '4.16', used_g: '12.60' }],
      },
    ],
  })
})

test('several plates and filaments, in index order, with thumbnails and G-code where present', async () => {
  const plates = [{ ...TWO_PLATES[1]!, gcode: ';gcode of plate 2\nG28\n' }, { ...TWO_PLATES[0]!, thumbnail: false }]
  const facts = await readThreeMf(bufferFile(buildThreeMf({ plates, printerModel: 'Bambu Lab A1', printerModelId: '', nozzle: '0.6' })))
  assert.deepEqual(
    facts.plates.map((p) => [p.index, p.prediction, p.weight, p.thumbnail, p.gcode, p.filaments.length]),
    [
      [1, 1800, 7.25, null, null, 1],
      [2, 5025, 31.5, 'Metadata/plate_2.png', 'Metadata/plate_2.gcode', 3],
    ],
  )
  assert.deepEqual(facts.plates[1]!.filaments[2], { id: '4', type: 'PETG', color: '#ff6a13', used_m: '0.01', used_g: '0.00' })
  // No printer_model_id in slice_info: the model code comes from the printer's name.
  assert.deepEqual(facts.compatibility, { dev_model_name: 'N2S', dev_product_name: 'A1', nozzle_diameter: 0.6 })
})

test('without model settings the configs list the other two; an unknown printer keeps its name', async () => {
  const facts = await readThreeMf(
    bufferFile(buildThreeMf({ plates: [SEED_PLATE], omit: ['Metadata/model_settings.config'], printerModel: 'Bambu Lab Z9', printerModelId: '' })),
  )
  assert.deepEqual(facts.configs, ['Metadata/project_settings.config', 'Metadata/slice_info.config'])
  assert.deepEqual(facts.compatibility, { dev_model_name: '', dev_product_name: 'Z9', nozzle_diameter: 0.4 })
})

test('a plate without a weight weighs what its filaments do', async () => {
  const xml = `<config><plate><metadata key="index" value="3"/><metadata key="prediction" value="61.6"/>
    <filament id="1" type="PLA" color="#000000" used_m="1.5" used_g="2.25"/><filament id="2" type="PLA" color="#FFFFFF" used_m="0.5" used_g="0.75"/></plate></config>`
  const facts = await readThreeMf(bufferFile(buildThreeMf({ plates: [SEED_PLATE], entries: { 'Metadata/slice_info.config': xml } })))
  assert.deepEqual(facts.plates.map((p) => [p.index, p.prediction, p.weight, p.thumbnail]), [[3, 62, 3, null]])
})

test('missing or malformed metadata is refused with the file it is about', async () => {
  await refused(Buffer.from('PK\u0003\u0004 but not really a zip at all, just text'), /not a 3MF \(zip\) archive/)
  await refused({ plates: [SEED_PLATE], omit: ['Metadata/slice_info.config'] }, /^Metadata\/slice_info\.config is missing/)
  await refused({ plates: [SEED_PLATE], omit: ['Metadata/project_settings.config'] }, /^Metadata\/project_settings\.config is missing/)
  await refused({ plates: [SEED_PLATE], entries: { 'Metadata/slice_info.config': '<config><plate><metadata key="index" value="1"/></config>' } }, /slice_info\.config is not well-formed XML/)
  await refused({ plates: [SEED_PLATE], entries: { 'Metadata/slice_info.config': '<config><header/></config>' } }, /lists no plate/)
  await refused({ plates: [SEED_PLATE], entries: { 'Metadata/slice_info.config': '<config><plate><metadata key="index" value="x"/></plate></config>' } }, /no valid index/)
  await refused({ plates: [SEED_PLATE, { ...SEED_PLATE }] }, /lists plate 1 twice/)
  await refused({ plates: [SEED_PLATE], entries: { 'Metadata/project_settings.config': '{"printer_model": ' } }, /project_settings\.config is not a JSON object/)
  await refused({ plates: [SEED_PLATE], entries: { 'Metadata/project_settings.config': '["a list"]' } }, /project_settings\.config is not a JSON object/)
  await refused({ plates: [SEED_PLATE], entries: { 'Metadata/model_settings.config': '<config><object></config>' } }, /model_settings\.config is not well-formed XML/)
  await refused({ plates: [SEED_PLATE], entries: { 'Metadata/plate_1.png': 'GIF89a not a png' } }, /plate_1\.png is not a PNG image/)
})

test('zip bombs: entries too large, compressed past 100:1, or larger than they claim are refused', async () => {
  // 17 MiB of zeros deflate to a few KiB: over 16 MiB uncompressed (and a silly ratio).
  await refused({ plates: [SEED_PLATE], entries: { 'Metadata/plate_1.png': Buffer.alloc(17 * MiB) } }, /plate_1\.png is too large/)
  // 2 MiB of spaces: under the size limit, far past the ratio bound.
  await refused({ plates: [SEED_PLATE], entries: { 'Metadata/model_settings.config': ' '.repeat(2 * MiB) } }, /compressed more than 100:1/)
  // A liar: the directory says 50 bytes, the data inflates to a megabyte.
  const liar = { name: 'Metadata/slice_info.config', data: Buffer.alloc(MiB, 0x20), claim: { uncompressedSize: 50 } }
  await refused({ plates: [SEED_PLATE], omit: ['Metadata/slice_info.config'], extra: [liar] }, /slice_info\.config is larger than the archive says/)
  // A G-code entry is never inflated, but one compressed like a bomb still fails the file.
  await refused({ plates: [{ ...SEED_PLATE, gcode: ';'.repeat(4 * MiB) }] }, /plate_1\.gcode is compressed more than 100:1/)
})

test('more than 10,000 entries are refused from the directory alone', async () => {
  const inputs = Array.from({ length: 10_001 }, (_, i) => ({ name: `3D/Objects/part_${i}.model`, data: '', method: 'store' as const }))
  const zip = writeZip(inputs)
  const file = bufferFile(zip)
  await assert.rejects(readZipDirectory(file), /more than 10000 entries/)
  assert.ok(zip.length > 500_000 && file.bytesRead < 70_000, `only the end of the file was read (${file.bytesRead} of ${zip.length} bytes)`)
  await refused(writeZip(inputs), /more than 10000 entries/)
})

test('damaged entries: bad checksum, bad deflate data, encryption, unknown methods, a cut-short file', async () => {
  const png = plateImage(1)
  const cases: Array<[Parameters<typeof writeZip>[0][number], RegExp]> = [
    [{ name: 'a.png', data: png, method: 'store', claim: { crc32: 1234 } }, /a\.png is damaged \(checksum mismatch\)/],
    [{ name: 'a.png', data: png, claim: { flags: 0x0801 } }, /a\.png is encrypted/],
    [{ name: 'a.png', data: png, claim: { method: 12 } }, /unsupported compression method \(12\)/],
  ]
  for (const [input, message] of cases) {
    const file = bufferFile(writeZip([input]))
    const entry = (await readZipDirectory(file)).get('a.png')!
    await assert.rejects(readEntry(file, entry), (err: unknown) => err instanceof ZipError && message.test(err.message))
  }
  // Deflate data that is not deflate data: zlib's complaint arrives as a ZipError.
  const garbage = writeZip([{ name: 'a.png', data: png, method: 'store', claim: { method: 8 } }])
  const gfile = bufferFile(garbage)
  await assert.rejects(readEntry(gfile, (await readZipDirectory(gfile)).get('a.png')!), (err: unknown) => err instanceof ZipError && /a\.png is damaged/.test(err.message))

  const whole = buildThreeMf({ plates: [SEED_PLATE] })
  await refused(whole.subarray(0, whole.length - 200), /not a 3MF \(zip\) archive|damaged/)
  await refused(Buffer.alloc(0), /not a 3MF \(zip\) archive/)
})

test('zip64 archives are read through their zip64 records', async () => {
  const file = bufferFile(writeZip([{ name: 'hello.txt', data: 'hello zip64' }, { name: 'b.txt', data: 'b', method: 'store' }], { zip64: true }))
  const entries = await readZipDirectory(file)
  assert.deepEqual([...entries.keys()], ['hello.txt', 'b.txt'])
  assert.equal((await readEntry(file, entries.get('hello.txt')!)).toString(), 'hello zip64')
  assert.equal((await readEntry(file, entries.get('b.txt')!)).toString(), 'b')
})

test('an entry streams inflated, and only the entry asked for is read', async () => {
  const gcode = 'G28\n'.repeat(10_000)
  const file = bufferFile(buildThreeMf({ plates: [{ ...SEED_PLATE, gcode }] }))
  const entries = await readZipDirectory(file)
  const stream = await openEntry(file, entries.get('Metadata/plate_1.gcode')!)
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  assert.equal(Buffer.concat(chunks).toString(), gcode)
  assert.equal(await findPlateGcode(file, 1), 'Metadata/plate_1.gcode')
  // A print file exported for plate 3 may hold it as plate_1: the only G-code counts.
  assert.equal(await findPlateGcode(file, 3), 'Metadata/plate_1.gcode')
  assert.equal(await findPlateGcode(bufferFile(buildThreeMf({ plates: [SEED_PLATE] })), 1), null)
  await assert.rejects(findPlateGcode(bufferFile(Buffer.from('nope')), 1), ThreeMfError)
})

test('the XML reader: attributes, entities, comments; refuses DOCTYPEs and broken nesting', () => {
  const root = parseXml(`<?xml version="1.0"?>
    <!-- a comment with <tags> -->
    <config><plate a='single' b = "x &amp; y &lt;z&gt; &#65;&#x42;"><![CDATA[ <ignored/> ]]>text<metadata key="k" value=""/></plate></config>`)
  assert.equal(root.name, 'config')
  const plate = root.children[0]!
  assert.deepEqual(plate.attributes, { a: 'single', b: 'x & y <z> AB' })
  assert.deepEqual(plate.children.map((c) => [c.name, c.attributes]), [['metadata', { key: 'k', value: '' }]])
  for (const bad of [
    '<!DOCTYPE lol [<!ENTITY lol "lol">]><config/>',
    '<config><plate></config>',
    '<config>',
    '<config a="1" a="2"/>',
    '<config a="&bogus;"/>',
    '<config a="fish & chips"/>',
    '<a/><b/>',
    '',
    '<config a="1"',
  ]) {
    assert.throws(() => parseXml(bad), XmlError, bad)
  }
  assert.throws(() => parseXml('<a>'.repeat(100) + '</a>'.repeat(100)), /nested too deeply/)
})
