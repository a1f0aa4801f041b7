/**
 * `simulate`: virtual printers, from this checkout (packages/server/src/simulate-cli.ts).
 * With `--owner`, the printers are first registered on the server (admin API, so the admin
 * token is needed) and bound to that account; they then connect to its MQTT broker as
 * devices and answer like real ones (pushall, project_file, pause/resume/stop).
 *
 * An `mqtts://` broker's certificate is checked: against `--mqtt-ca`, else the server's own
 * `DATA_DIR/mqtt.crt` when this checkout has one (the server makes it self-signed for
 * localhost and 127.0.0.1), else the system's authorities; `--insecure` skips the check.
 *
 * @example
 * BAMBU_ADMIN_TOKEN=... bambu-cloud simulate --printers 3 --owner you@example.com --time-scale 60
 * bambu-cloud simulate --printers 2 --lan      # LAN brokers and FTPS endpoints for the bridge
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import { integer, mergedOptions, Context } from '../context.ts'
import { UsageError } from '../errors.ts'
import { runFromCheckout, workspaceRoot } from './serve.ts'

const SIMULATOR = path.join('packages', 'server', 'src', 'simulate-cli.ts')

interface SimulateOptions {
  printers: number
  owner?: string
  lan?: boolean
  mqttUrl?: string
  mqttCa?: string
  insecure?: boolean
  timeScale?: string
  adminToken?: string
}

export function registerSimulateCommand(program: Command, onExit: (code: number) => void): void {
  program
    .command('simulate')
    .description('run virtual printers: connected to the server’s broker as devices (--owner binds them first), or on the LAN (--lan)')
    .option('--printers <n>', 'how many', integer(1), 1)
    .option('--owner <account>', 'register the printers on the server (admin API) bound to this account')
    .option('--lan', 'serve a LAN broker and FTPS endpoint per printer instead (for the bridge)')
    .option('--mqtt-url <url>', 'the broker: mqtts://host:port (TLS) or mqtt://host:port (plain TCP); default mqtts://<server host>:8883')
    .option(
      '--mqtt-ca <file>',
      'PEM certificate to trust for an mqtts broker (env BAMBU_MQTT_CA); default DATA_DIR/mqtt.crt (env DATA_DIR, else ./data of this checkout) when it exists, else the system’s authorities',
    )
    .option('--insecure', 'accept any certificate from the broker')
    .option('--time-scale <x>', 'simulated seconds per real second (default 1)')
    .option('--base-url <url>', 'the server (env BAMBU_BASE_URL)')
    .option('--admin-token <token>', 'the admin token (env BAMBU_ADMIN_TOKEN)')
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption('-h, --help', 'this help; the simulator’s own options (--report-interval, --full-reports, --model, ...) are passed on')
    .action(async function (this: Command) {
      onExit(await simulate(new Context(mergedOptions(this)), this.args))
    })
}

async function simulate(ctx: Context, passOn: string[]): Promise<number> {
  const options = ctx.opts<SimulateOptions>()
  const args = ['--printers', String(options.printers), ...passOn]
  if (options.timeScale !== undefined) args.push('--time-scale', options.timeScale)
  const env = { ...process.env }
  if (options.lan) args.push('--lan')
  else {
    const host = new URL(ctx.baseUrl()).hostname
    args.push('--url', options.mqttUrl ?? `mqtts://${host}:8883`)
    if (options.insecure) args.push('--insecure')
    else {
      const ca = brokerCa(ctx, options)
      if (ca !== undefined) args.push('--ca', ca)
    }
  }
  if (options.owner !== undefined) {
    const token = options.adminToken ?? (ctx.env.BAMBU_ADMIN_TOKEN || undefined)
    if (token === undefined) throw new UsageError('--owner registers the printers through the admin API: pass --admin-token or set BAMBU_ADMIN_TOKEN')
    // The token goes through the environment, not the command line others can read.
    env.BAMBU_ADMIN_TOKEN = token
    args.push('--register', ctx.baseUrl(), '--owner', options.owner)
  }
  return runFromCheckout(SIMULATOR, args, env)
}

/** The certificate file to trust: `--mqtt-ca`, else the server's own when there is one; undefined: the system's authorities. */
function brokerCa(ctx: Context, options: SimulateOptions): string | undefined {
  const given = options.mqttCa ?? (ctx.env.BAMBU_MQTT_CA || undefined)
  if (given !== undefined) {
    if (!fs.existsSync(given)) throw new UsageError(`--mqtt-ca: cannot read ${given}`)
    return path.resolve(given)
  }
  // The server's default DATA_DIR is ./data of the checkout it runs from, as `serve` runs it.
  const own = path.resolve(workspaceRoot(), ctx.env.DATA_DIR || 'data', 'mqtt.crt')
  return fs.existsSync(own) ? own : undefined
}
