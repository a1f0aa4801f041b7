/**
 * `admin devices`: register printers for their owners, change, unbind and remove them, mark
 * them online; `admin report`: apply a printer report as the printer would publish it.
 *
 * @example
 * bambu-cloud admin devices add --dev-id 01P00A000000001 --owner ada@example.com --name Workshop
 * bambu-cloud admin report 01P00A000000001 '{"print":{"command":"push_status","gcode_state":"RUNNING","mc_percent":40}}'
 * bambu-cloud admin report 01P00A000000001 --json-file report.json
 * bambu-cloud admin devices update 01P00A000000001 --unbind
 * bambu-cloud admin devices update 01P00A000000001 --lan-ip 192.168.1.40
 */
import { Argument, InvalidArgumentError, type Command } from 'commander'
import type { AdminDevice } from '../admin-api.ts'
import { adminOptions, withContext, type Context } from '../context.ts'
import { UsageError } from '../errors.ts'
import { paintState, yesNo } from '../format.ts'
import { parseJsonObject, readJsonFile } from '../json-input.ts'

interface DeviceOptions {
  devId?: string
  owner?: string
  unbind?: boolean
  name?: string
  model?: string
  product?: string
  nozzle?: number
  accessCode?: string
  structure?: string
  firmware?: string
  lanIp?: string
  lanMqttPort?: number
  lanFtpsPort?: number
}

function port(text: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port from 1 to 65535')
  return n
}

export function registerAdminDeviceCommands(admin: Command): void {
  const devices = admin.command('devices').description('printers')

  adminOptions(devices.command('list')).description('every printer').action(withContext(list))

  adminOptions(devices.command('get')).description('one printer, with its merged state').argument('<dev_id>').action(withContext(get))

  deviceFields(adminOptions(devices.command('add')))
    .description('register a printer for its owner')
    .requiredOption('--dev-id <dev_id>', "the printer's serial number")
    .requiredOption('--owner <account>', "the owner's account")
    .action(withContext(add))

  deviceFields(adminOptions(devices.command('update')))
    .description('change a printer, bind it to another owner, or unbind it')
    .argument('<dev_id>')
    .option('--owner <account>', 'bind it to this account')
    .option('--unbind', 'unbind it from its owner')
    .option('--lan-ip <host>', 'reach it through the LAN bridge at this address (trusts the certificate it presents next); "off" stops bridging')
    .option('--lan-mqtt-port <port>', 'its MQTT port on the LAN (8883)', port)
    .option('--lan-ftps-port <port>', 'its FTPS port on the LAN (990)', port)
    .action(withContext(update))

  adminOptions(devices.command('remove')).description('remove a printer (its owners keep their history)').argument('<dev_id>').action(withContext(remove))

  adminOptions(devices.command('online'))
    .description('mark a printer online or offline')
    .argument('<dev_id>')
    .addArgument(new Argument('<state>').choices(['online', 'offline']))
    .action(withContext(online))

  adminOptions(admin.command('report'))
    .description('apply one report exactly as a printer publishes it, from JSON on the command line or a file')
    .argument('<dev_id>')
    .argument('[json]', 'the report, e.g. {"print":{"command":"push_status","gcode_state":"RUNNING","mc_percent":40}}')
    .option('--json-file <file>', 'read the report from FILE (- for stdin)')
    .action(withContext(report))
}

function deviceFields(command: Command): Command {
  return command
    .option('--name <name>', 'its name (add: default the dev_id)')
    .option('--model <dev_model_name>', 'model code, e.g. BL-P001 (add: default BL-P001)')
    .option('--product <dev_product_name>', 'product name, e.g. "X1 Carbon" (add: default X1 Carbon)')
    .option('--nozzle <mm>', 'nozzle diameter', (text: string) => {
      const n = Number(text)
      if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a diameter in mm above 0')
      return n
    })
    .option('--access-code <code>', 'LAN access code (add: made up when absent)')
    .option('--structure <structure>', 'dev_structure')
    .option('--firmware <version>', 'installed firmware version')
}

async function list(ctx: Context): Promise<void> {
  const devices = await ctx.admin().listDevices()
  if (ctx.out.json) return ctx.out.printJson(devices)
  const { style } = ctx.out
  ctx.out.table(
    devices,
    [
      { header: 'DEV_ID', value: (d) => d.dev_id },
      { header: 'OWNER', value: (d) => d.owner ?? '-' },
      { header: 'MODEL', value: (d) => d.dev_product_name },
      { header: 'ONLINE', value: (d) => yesNo(d.online) },
      { header: 'STATUS', value: (d) => d.print_status, style: (d, text) => paintState(d.print_status, style)(text) },
      { header: 'NAME', value: (d) => d.name },
    ],
    'no printers',
  )
}

function show(ctx: Context, d: AdminDevice): void {
  if (ctx.out.json) return ctx.out.printJson(d)
  ctx.out.fields([
    ['dev_id', d.dev_id],
    ['name', d.name],
    ['owner', d.owner ?? '-'],
    ['model', `${d.dev_product_name} (${d.dev_model_name})`],
    ['access_code', d.dev_access_code],
    ['nozzle', String(d.nozzle_diameter)],
    ['firmware', d.firmware_version ?? '-'],
    ['online', yesNo(d.online)],
    ['status', d.print_status],
    ['print_job', d.print_job === null ? '-' : String(d.print_job)],
    ['lan_ip', d.lan_ip ?? '-'],
    ['bridge', d.bridge === null ? '-' : `${d.bridge.state}${d.bridge.last_error ? ` (${d.bridge.last_error})` : ''}`],
  ])
}

async function get(ctx: Context, [devId]: string[]): Promise<void> {
  show(ctx, await ctx.admin().getDevice(devId!))
}

async function add(ctx: Context): Promise<void> {
  const o = ctx.opts<DeviceOptions>()
  show(
    ctx,
    await ctx.admin().addDevice({
      dev_id: o.devId!,
      owner: o.owner!,
      name: o.name ?? o.devId!,
      dev_model_name: o.model ?? 'BL-P001',
      dev_product_name: o.product ?? 'X1 Carbon',
      nozzle_diameter: o.nozzle,
      dev_access_code: o.accessCode,
      dev_structure: o.structure,
      firmware_version: o.firmware,
    }),
  )
}

async function update(ctx: Context, [devId]: string[]): Promise<void> {
  const o = ctx.opts<DeviceOptions>()
  if (o.owner !== undefined && o.unbind) throw new UsageError('give --owner or --unbind, not both')
  const patch = {
    name: o.name,
    dev_model_name: o.model,
    dev_product_name: o.product,
    nozzle_diameter: o.nozzle,
    dev_access_code: o.accessCode,
    dev_structure: o.structure,
    firmware_version: o.firmware,
    owner: o.unbind ? null : o.owner,
    lan_ip: o.lanIp === 'off' ? null : o.lanIp,
    lan_mqtt_port: o.lanMqttPort,
    lan_ftps_port: o.lanFtpsPort,
  }
  if (Object.values(patch).every((v) => v === undefined)) throw new UsageError('nothing to change: see `bambu-cloud admin devices update --help`')
  show(ctx, await ctx.admin().updateDevice(devId!, patch))
}

async function remove(ctx: Context, [devId]: string[]): Promise<void> {
  await ctx.admin().removeDevice(devId!)
  ctx.out.note(`Removed ${devId}.`)
}

async function online(ctx: Context, [devId, state]: string[]): Promise<void> {
  await ctx.admin().setOnline(devId!, state === 'online')
  ctx.out.note(`${devId} is ${state}.`)
}

async function report(ctx: Context, [devId, json]: string[]): Promise<void> {
  const file = ctx.options.jsonFile as string | undefined
  if ((json === undefined) === (file === undefined)) throw new UsageError('give the report as a JSON argument or with --json-file, one of the two')
  const body = file !== undefined ? readJsonFile(file) : parseJsonObject(json!, 'the report')
  await ctx.admin().report(devId!, body)
  ctx.out.note(`Applied the report to ${devId}.`)
}
