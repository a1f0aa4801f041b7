/**
 * `settings`: slicer presets, the public catalog and your own.
 *
 * `export` writes a preset as `{type,name,version,base_id,filament_id,nickname,setting}`,
 * which `import` (and `admin settings add`) read back.
 *
 * @example
 * bambu-cloud settings list --type filament --mine
 * bambu-cloud settings export PFUS1a2b3c4d5e6f7a -o my-petg.json
 * bambu-cloud settings import my-petg.json --name "My PETG, copy"     # prints the new setting_id
 * bambu-cloud settings delete PFUS1a2b3c4d5e6f7a
 */
import type { Setting, SettingCreate, SettingList, SettingType } from '@bambu-cloud/client'
import { Option, type Command } from 'commander'
import { connectionOptions, withContext, type Context } from '../context.ts'
import { UsageError } from '../errors.ts'
import { presetBody, readJsonFile, writeJsonFile } from '../json-input.ts'
import { yesNo } from '../format.ts'

/** A slicer version no preset is newer than: list the whole catalog. */
const EVERY_VERSION = '9999.9999.9999.9999'
const TYPES: SettingType[] = ['print', 'printer', 'filament']

interface ListOptions {
  version: string
  type?: SettingType
  mine?: boolean
}

export function registerSettingsCommands(program: Command): void {
  const settings = program.command('settings').description('slicer presets: list, get, export, import, delete')

  connectionOptions(settings.command('list'))
    .description('presets by type, public and your own')
    .addOption(new Option('--type <type>', 'only this type').choices(TYPES))
    .option('--mine', 'only your own presets')
    .option('--version <version>', "the slicer's version: public presets newer than it are left out (default: all)", EVERY_VERSION)
    .action(withContext(list))

  connectionOptions(settings.command('get'))
    .description('one preset (--json: in full)')
    .argument('<setting_id>')
    .action(withContext(get))

  connectionOptions(settings.command('export'))
    .description("write a preset's JSON to stdout or a file, in the form import reads")
    .argument('<setting_id>')
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .action(withContext(exportPreset))

  connectionOptions(settings.command('import'))
    .description('save a preset of yours from a JSON file (- for stdin); prints its setting_id')
    .argument('<file>')
    .option('--name <name>', 'save it under this name')
    .action(withContext(importPreset))

  connectionOptions(settings.command('delete'))
    .description('delete one of your presets')
    .argument('<setting_id>')
    .action(withContext(remove))
}

async function list(ctx: Context): Promise<void> {
  const options = ctx.opts<ListOptions>()
  const { message: _m, code: _c, error: _e, ...groups } = await ctx.cloud().slicer.settings.list({ version: options.version, public: options.mine ? false : undefined })
  const types = options.type ? [options.type] : TYPES
  if (ctx.out.json) return ctx.out.printJson(Object.fromEntries(types.map((t) => [t, groups[t]])))
  const rows = types.flatMap((type) => {
    const group: SettingList[SettingType] = groups[type]
    return [...group.private.map((s) => ({ type, scope: 'mine', s })), ...group.public.map((s) => ({ type, scope: 'public', s }))]
  })
  const { style } = ctx.out
  ctx.out.table(
    rows,
    [
      { header: 'TYPE', value: (r) => r.type },
      { header: 'SCOPE', value: (r) => r.scope, style: (r, text) => (r.scope === 'mine' ? style.cyan(text) : text) },
      { header: 'SETTING_ID', value: (r) => r.s.setting_id },
      { header: 'VERSION', value: (r) => r.s.version },
      { header: 'UPDATED', value: (r) => r.s.update_time },
      { header: 'NAME', value: (r) => r.s.name },
    ],
    'no presets',
  )
}

async function get(ctx: Context, [id]: string[]): Promise<void> {
  const { message: _m, code: _c, error: _e, ...preset } = await ctx.cloud().slicer.settings.get(id!)
  if (ctx.out.json) return ctx.out.printJson({ setting_id: id, ...preset })
  ctx.out.fields([
    ['setting_id', id!],
    ['name', preset.name],
    ['type', preset.type],
    ['public', yesNo(preset.public)],
    ['version', preset.version],
    ['base_id', preset.base_id ?? '-'],
    ['filament_id', preset.filament_id ?? '-'],
    ['nickname', preset.nickname ?? '-'],
    ['updated', preset.update_time],
    ['settings', `${Object.keys(preset.setting).length} keys`],
  ])
}

/** The savable part of a preset. */
function exported(preset: Setting): SettingCreate {
  const { type, name, version, base_id, filament_id, nickname, setting } = preset
  return { type, name, version, base_id, filament_id, nickname, setting }
}

async function exportPreset(ctx: Context, [id]: string[]): Promise<void> {
  const preset = exported(await ctx.cloud().slicer.settings.get(id!))
  const file = ctx.options.output as string | undefined
  if (file === undefined) return ctx.out.printJson(preset)
  writeJsonFile(file, preset)
  ctx.out.note(`Wrote ${id} ("${preset.name}") to ${file}.`)
}

async function importPreset(ctx: Context, [file]: string[]): Promise<void> {
  const body = presetBody(readJsonFile(file!))
  // The server keeps ids of its own; a saved one would only be ignored.
  delete body.setting_id
  const name = ctx.options.name as string | undefined
  if (name !== undefined) body.name = name
  for (const field of ['type', 'name', 'version', 'setting']) {
    if (body[field] === undefined) throw new UsageError(`${file} has no "${field}": is it a preset (see \`bambu-cloud settings export\`)?`)
  }
  const { setting_id, update_time } = await ctx.cloud().slicer.settings.create(body as SettingCreate)
  if (ctx.out.json) return ctx.out.printJson({ setting_id, update_time })
  ctx.out.write(`${setting_id}\n`)
}

async function remove(ctx: Context, [id]: string[]): Promise<void> {
  await ctx.cloud().slicer.settings.delete(id!)
  ctx.out.note(`Deleted ${id}.`)
}
