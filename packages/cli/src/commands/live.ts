/**
 * The live printer over the cloud's MQTT broker: `watch DEV_ID` follows its reports,
 * `pause`, `resume` and `stop` control its print and wait for the printer to confirm.
 *
 * The broker is `--mqtt-url` (env BAMBU_MQTT_URL), else the region's, else port 8883 on
 * the server's host. A self-hosted server's self-signed certificate is trusted with
 * `--mqtt-ca FILE` (env BAMBU_MQTT_CA) or, without checking, `--insecure`.
 *
 * @example
 * bambu-cloud watch 01P00A000000001
 * bambu-cloud watch 01P00A000000001 --json --count 1   # one merged state as JSON
 * bambu-cloud pause 01P00A000000001
 */
import fs from 'node:fs'
import type { DeviceState } from '@bambu-cloud/client'
import { Option, type Command } from 'commander'
import { connectionOptions, integer, withContext, type Context } from '../context.ts'
import { Interrupted, UsageError } from '../errors.ts'
import { paintState } from '../format.ts'

interface LiveOptions {
  mqttUrl?: string
  mqttCa?: string
  insecure?: boolean
  count?: number
}

function liveOptions(command: Command): Command {
  return connectionOptions(command)
    .option('--mqtt-url <url>', 'the MQTT broker (env BAMBU_MQTT_URL; default: port 8883 on the server’s host)')
    .option('--mqtt-ca <file>', 'PEM certificate to trust for the broker (env BAMBU_MQTT_CA)')
    .addOption(new Option('--insecure', 'accept any broker certificate (env BAMBU_MQTT_INSECURE=1)'))
}

export function registerLiveCommands(program: Command): void {
  liveOptions(program.command('watch'))
    .description('follow a printer live: each report merged into its state (Ctrl-C to stop)')
    .argument('<dev_id>')
    .option('--count <n>', 'stop after N states', integer(1))
    .action(withContext(watch))
  for (const [name, what] of [
    ['pause', 'pause the print'],
    ['resume', 'resume a paused print'],
    ['stop', 'stop the print for good'],
  ] as const) {
    liveOptions(program.command(name))
      .description(`${what}, through the MQTT broker; waits for the printer to confirm`)
      .argument('<dev_id>')
      .action(withContext((ctx, [devId]) => control(ctx, name, devId!)))
  }
}

/** The client with the broker settings of the command line and environment. */
function liveCloud(ctx: Context) {
  const options = ctx.opts<LiveOptions>()
  const caFile = options.mqttCa ?? (ctx.env.BAMBU_MQTT_CA || undefined)
  let ca: string | undefined
  if (caFile !== undefined) {
    try {
      ca = fs.readFileSync(caFile, 'utf8')
    } catch {
      throw new UsageError(`cannot read ${caFile}`)
    }
  }
  const insecure = options.insecure === true || ctx.env.BAMBU_MQTT_INSECURE === '1'
  return ctx.cloud(undefined, { url: options.mqttUrl ?? (ctx.env.BAMBU_MQTT_URL || undefined), ca, rejectUnauthorized: !insecure })
}

async function control(ctx: Context, command: 'pause' | 'resume' | 'stop', devId: string): Promise<void> {
  await liveCloud(ctx).devices[command](devId)
  if (ctx.out.json) return ctx.out.printJson({ dev_id: devId, command, result: 'success' })
  ctx.out.write(`${devId}: ${command} confirmed\n`)
}

async function watch(ctx: Context, [devId]: string[]): Promise<void> {
  const { count = Infinity } = ctx.opts<LiveOptions>()
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once('SIGINT', onSignal)
  const live = ctx.out.tty && !ctx.out.json
  let seen = 0
  try {
    for await (const state of liveCloud(ctx).devices.watch(devId!, { signal: stop.signal })) {
      print(ctx, state, live)
      if (++seen >= count) break
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err
  } finally {
    process.off('SIGINT', onSignal)
    if (live) ctx.out.write('\n')
  }
  if (stop.signal.aborted) throw new Interrupted()
}

function print(ctx: Context, state: DeviceState, live: boolean): void {
  const { out } = ctx
  // JSON Lines: one merged state per line.
  if (out.json) return out.write(`${JSON.stringify(state)}\n`)
  const p = state.print ?? {}
  const gcodeState = typeof p.gcode_state === 'string' ? p.gcode_state : '-'
  const percent = typeof p.mc_percent === 'number' ? p.mc_percent : null
  const left = typeof p.mc_remaining_time === 'number' ? `${p.mc_remaining_time}m left` : '-'
  const layers = typeof p.layer_num === 'number' && typeof p.total_layer_num === 'number' ? `layer ${p.layer_num}/${p.total_layer_num}` : '-'
  const task = typeof p.subtask_name === 'string' && p.subtask_name !== '' ? p.subtask_name : '-'
  const rest = [out.progress(percent), left, layers, task]
  if (live) out.write(`\r\x1b[2K${[paintState(gcodeState, out.style)(gcodeState), ...rest].join('  ')}`)
  else out.write(`${new Date().toISOString()}\t${[gcodeState, ...rest].join('\t')}\n`)
}
