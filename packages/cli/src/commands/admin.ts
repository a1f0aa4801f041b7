/**
 * `admin`: the admin API (`/admin/v1`), with `--admin-token` or `BAMBU_ADMIN_TOKEN`. Users
 * and the outbox, printers and reports live in their own files; the catalogs (firmware,
 * public presets) here.
 *
 * @example
 * export BAMBU_ADMIN_TOKEN=$(cat data/admin-token)
 * bambu-cloud admin firmware add --model BL-P001 --version 01.08.00.00 --url https://example.org/fw.bin
 * bambu-cloud admin settings add --file my-petg.json      # publish a preset to every user
 */
import type { AdminSettingCreate } from '@bambu-cloud/protocol'
import type { Command } from 'commander'
import { adminOptions, withContext, type Context } from '../context.ts'
import { presetBody, readJsonFile } from '../json-input.ts'
import { registerAdminDeviceCommands } from './admin-devices.ts'
import { registerAdminUserCommands } from './admin-users.ts'

interface FirmwareOptions {
  model: string
  version: string
  url: string
  description?: string
  force?: boolean
}

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('drive the admin API (--admin-token or BAMBU_ADMIN_TOKEN)')
  registerAdminUserCommands(admin)
  registerAdminDeviceCommands(admin)

  const firmware = admin.command('firmware').description('the firmware catalog')
  adminOptions(firmware.command('add'))
    .description('publish firmware for a printer model')
    .requiredOption('--model <dev_model_name>', 'the model code, e.g. BL-P001')
    .requiredOption('--version <version>', 'four dot-separated numbers, e.g. 01.08.00.00')
    .requiredOption('--url <url>', 'where it downloads from')
    .option('--description <text>', 'release notes')
    .option('--force', 'printers must install it')
    .action(withContext(addFirmware))

  const settings = admin.command('settings').description('the public preset catalog')
  adminOptions(settings.command('add'))
    .description('publish a preset to every user from a JSON file (- for stdin), e.g. one `settings export` wrote')
    .requiredOption('--file <file>', 'the preset')
    .action(withContext(addSetting))
}

async function addFirmware(ctx: Context): Promise<void> {
  const o = ctx.opts<FirmwareOptions>()
  const fw = await ctx.admin().addFirmware({ dev_model_name: o.model, version: o.version, url: o.url, description: o.description, force_update: o.force === true })
  if (ctx.out.json) return ctx.out.printJson(fw)
  ctx.out.fields([
    ['id', String(fw.id)],
    ['model', fw.dev_model_name],
    ['version', fw.version],
    ['force_update', fw.force_update ? 'yes' : 'no'],
    ['url', fw.url],
  ])
}

async function addSetting(ctx: Context): Promise<void> {
  const body = presetBody(readJsonFile(ctx.options.file as string)) as AdminSettingCreate
  const { setting_id } = await ctx.admin().addSetting(body)
  if (ctx.out.json) return ctx.out.printJson({ setting_id })
  ctx.out.write(`${setting_id}\n`)
}
