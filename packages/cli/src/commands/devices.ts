/**
 * Your printers: `devices`, `firmware`, `rename`, `ttcode`.
 *
 * @example
 * bambu-cloud devices                       # a table on a terminal, tab-separated in a pipe
 * bambu-cloud devices --json                # exactly the `devices` array of user/bind
 * bambu-cloud firmware 01P00A000000001
 * bambu-cloud rename 01P00A000000001 "Workshop P1S"
 */
import type { DeviceFirmware } from '@bambu-cloud/client'
import type { Command } from 'commander'
import { connectionOptions, withContext, type Context } from '../context.ts'
import { compareVersions } from '@bambu-cloud/protocol'
import { paintState, yesNo } from '../format.ts'

export function registerDeviceCommands(program: Command): void {
  connectionOptions(program.command('devices'))
    .description('your printers')
    .action(withContext(devices))

  connectionOptions(program.command('firmware'))
    .description("a printer's firmware and its model's catalog, newest first (all printers without DEV_ID)")
    .argument('[dev_id]', 'the printer')
    .action(withContext(firmware))

  connectionOptions(program.command('rename'))
    .description('rename one of your printers')
    .argument('<dev_id>', 'the printer')
    .argument('<name>', 'its new name')
    .action(withContext(rename))

  connectionOptions(program.command('ttcode'))
    .description("a printer's camera-service codes")
    .argument('<dev_id>', 'the printer')
    .action(withContext(ttcode))
}

async function devices(ctx: Context): Promise<void> {
  const list = await ctx.cloud().devices.list()
  if (ctx.out.json) return ctx.out.printJson(list)
  const { style } = ctx.out
  ctx.out.table(
    list,
    [
      { header: 'DEV_ID', value: (d) => d.dev_id },
      { header: 'NAME', value: (d) => d.name },
      { header: 'MODEL', value: (d) => d.dev_product_name },
      { header: 'ONLINE', value: (d) => yesNo(d.online), style: (d, text) => (d.online ? text : style.dim(text)) },
      { header: 'STATUS', value: (d) => d.print_status, style: (d, text) => paintState(d.print_status, style)(text) },
      { header: 'NOZZLE', value: (d) => String(d.nozzle_diameter) },
    ],
    'no printers',
  )
}

interface FirmwareRow {
  dev_id: string
  version: string
  state: 'installed' | 'newer' | 'older' | 'unknown'
  force_update: boolean
  url: string
}

async function firmware(ctx: Context, [devId]: string[]): Promise<void> {
  const list = await ctx.cloud().devices.firmware(devId)
  if (ctx.out.json) return ctx.out.printJson(list)
  const { style } = ctx.out
  ctx.out.table(
    list.flatMap(firmwareRows),
    [
      { header: 'DEV_ID', value: (r) => r.dev_id },
      { header: 'VERSION', value: (r) => r.version },
      { header: 'STATE', value: (r) => r.state, style: (r, text) => (r.state === 'newer' ? style.green(text) : r.state === 'installed' ? style.bold(text) : text) },
      { header: 'FORCE', value: (r) => yesNo(r.force_update) },
      { header: 'URL', value: (r) => r.url || '-' },
    ],
    'no firmware known',
  )
}

/** The catalog of one printer, each entry marked against the installed version. */
function firmwareRows(device: DeviceFirmware): FirmwareRow[] {
  const installed = device.version
  const rows: FirmwareRow[] = device.firmware.map((fw) => ({
    dev_id: device.dev_id,
    version: fw.version,
    state: installed === null ? 'unknown' : fw.version === installed ? 'installed' : compareVersions(fw.version, installed) > 0 ? 'newer' : 'older',
    force_update: fw.force_update,
    url: fw.url,
  }))
  if (installed !== null && !rows.some((r) => r.state === 'installed')) {
    rows.push({ dev_id: device.dev_id, version: installed, state: 'installed', force_update: false, url: '' })
    rows.sort((a, b) => compareVersions(b.version, a.version))
  }
  return rows
}

async function rename(ctx: Context, [devId, name]: string[]): Promise<void> {
  await ctx.cloud().devices.rename(devId!, name!)
  ctx.out.note(`Renamed ${devId} to "${name}".`)
}

async function ttcode(ctx: Context, [devId]: string[]): Promise<void> {
  const { ttcode, passwd, authkey, region } = await ctx.cloud().devices.ttcode(devId!)
  if (ctx.out.json) return ctx.out.printJson({ ttcode, passwd, authkey, region })
  ctx.out.fields([
    ['ttcode', ttcode],
    ['passwd', passwd],
    ['authkey', authkey],
    ['region', region],
  ])
}
