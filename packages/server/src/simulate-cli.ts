/**
 * Runs a fleet of virtual printers until SIGINT or SIGTERM: connected to a cloud broker
 * (`--url`), each serving its own LAN broker and FTPS storage (`--lan`), or both. Prints
 * one line per printer on stdout (key=value, or JSON with `--json`) so a caller can bind
 * them; everything else goes to stderr. Bad arguments exit 2, a failed start exits 1.
 *
 * In cloud mode the printers log in with their dev_id and access code, so they must
 * exist on the server: `--register` creates them through its admin API, or pass
 * `--dev-id-prefix` and `--access-code` to match printers registered beforehand.
 *
 * @example
 * node --conditions=source --import tsx packages/server/src/simulate-cli.ts --printers 3 --url mqtt://127.0.0.1:1883 --access-code 12345678
 * node --conditions=source --import tsx packages/server/src/simulate-cli.ts --printers 2 --lan --time-scale 60 --json
 */
import fs from 'node:fs'
import { parseArgs } from 'node:util'
import { randomDigits } from './lib/secrets.ts'
import { fleetDevId, startFleet, type Fleet, type FleetOptions } from './simulator/fleet.ts'
import { registerFleet, type Registration } from './simulator/registration.ts'

const USAGE = `usage: simulate-cli --printers N (--url mqtt[s]://host:port | --lan) [options]
  --printers N           how many printers (default 1)
  --url URL              cloud broker to connect each printer to
  --lan                  give each printer its own MQTT broker and FTPS storage
  --host HOST            where LAN endpoints listen (default 127.0.0.1)
  --time-scale X         simulated seconds per real second (default 1)
  --report-interval MS   real milliseconds between status reports (default 1000)
  --full-reports         send the whole state in every report (X1 style)
  --print-minutes M      simulated length of a print without a slicer prediction (default 30)
  --model CODE           dev_model_name (default C11)
  --dev-id-prefix P      serials are P followed by the number, 15 characters (default SIM)
  --access-code CODE     one access code for all (default: random per printer)
  --ca FILE              CA certificate (PEM) to trust for mqtts
  --insecure             accept any certificate from the cloud broker
  --register URL         first register the printers on the server at URL (its admin
                         API; token from BAMBU_ADMIN_TOKEN), bound to --owner
  --owner ACCOUNT        the account --register binds the printers to
  --json                 one JSON object per printer instead of key=value
`

class UsageError extends Error {}

interface Parsed {
  fleet: FleetOptions
  json: boolean
  register?: Omit<Registration, 'devIds' | 'accessCode' | 'model'>
}

function parse(argv: string[], env: NodeJS.ProcessEnv): Parsed | null {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        printers: { type: 'string', default: '1' },
        url: { type: 'string' },
        lan: { type: 'boolean', default: false },
        host: { type: 'string', default: '127.0.0.1' },
        'time-scale': { type: 'string', default: '1' },
        'report-interval': { type: 'string', default: '1000' },
        'full-reports': { type: 'boolean', default: false },
        'print-minutes': { type: 'string', default: '30' },
        model: { type: 'string', default: 'C11' },
        'dev-id-prefix': { type: 'string', default: 'SIM' },
        'access-code': { type: 'string' },
        ca: { type: 'string' },
        insecure: { type: 'boolean', default: false },
        register: { type: 'string' },
        owner: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (err) {
    // node's messages can run to several lines; the first says what is wrong.
    throw new UsageError((err as Error).message.split('\n')[0]!)
  }
  const v = parsed.values
  if (v.help) return null
  if (!v.url && !v.lan) throw new UsageError('give --url (a cloud broker), --lan, or both')
  if (v.url && !/^mqtts?:\/\/[^/]+/.test(v.url)) throw new UsageError(`--url must be mqtt://host:port or mqtts://host:port, got "${v.url}"`)
  if (!/^[A-Za-z0-9]{0,14}$/.test(v['dev-id-prefix'])) throw new UsageError('--dev-id-prefix must be up to 14 letters or digits')
  if (v['access-code'] !== undefined && !/^[\x21-\x7e]{1,64}$/.test(v['access-code'])) throw new UsageError('--access-code must be 1 to 64 printable characters without spaces')
  const count = integer(v.printers, '--printers', 1, 100_000)
  let register: Parsed['register']
  if (v.register !== undefined) {
    if (!/^https?:\/\/[^/]+/.test(v.register)) throw new UsageError(`--register must be the server's http(s) URL, got "${v.register}"`)
    if (!v.owner) throw new UsageError('--register needs --owner (the account the printers are bound to)')
    const adminToken = env.BAMBU_ADMIN_TOKEN
    if (!adminToken) throw new UsageError('--register needs the admin token in BAMBU_ADMIN_TOKEN')
    register = { baseUrl: v.register, adminToken, owner: v.owner }
  } else if (v.owner !== undefined) throw new UsageError('--owner only goes with --register')
  let ca: Buffer | undefined
  if (v.ca) {
    try {
      ca = fs.readFileSync(v.ca)
    } catch (err) {
      throw new UsageError(`--ca: cannot read ${v.ca} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
    }
  }
  return {
    json: v.json,
    register,
    fleet: {
      count,
      devIdPrefix: v['dev-id-prefix'],
      // Registered printers share one code: the server must know it before they log in.
      accessCode: v['access-code'] ?? (register ? randomDigits(8) : undefined),
      model: v.model,
      timeScale: number(v['time-scale'], '--time-scale'),
      reportIntervalMs: integer(v['report-interval'], '--report-interval', 10, 3_600_000),
      partialReports: !v['full-reports'],
      printSeconds: number(v['print-minutes'], '--print-minutes') * 60,
      cloud: v.url ? { url: v.url, ca, rejectUnauthorized: !v.insecure } : undefined,
      lan: v.lan ? { host: v.host } : undefined,
    },
  }
}

function integer(text: string, name: string, min: number, max: number): number {
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < min || value > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${text}"`)
  return value
}

function number(text: string, name: string): number {
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new UsageError(`${name} must be a positive number, got "${text}"`)
  return value
}

function describe(fleet: Fleet, json: boolean): string {
  return fleet.printers
    .map((p) => {
      const line = { dev_id: p.devId, access_code: p.accessCode, model: p.model, ...(p.lan ? { host: p.lan.host, mqtt_port: p.lan.mqttPort, ftps_port: p.lan.ftpsPort } : {}) }
      return json ? JSON.stringify(line) : Object.entries(line).map(([k, val]) => `${k}=${val}`).join(' ')
    })
    .join('\n')
}

async function main(): Promise<void> {
  let options
  try {
    options = parse(process.argv.slice(2), process.env)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`simulate: ${err.message}\n`)
    process.exit(2)
  }
  if (!options) {
    process.stdout.write(USAGE)
    return
  }
  let fleet: Fleet
  try {
    const { fleet: f, register } = options
    if (register) {
      const devIds = Array.from({ length: f.count }, (_, i) => fleetDevId(f.devIdPrefix ?? 'SIM', i + 1))
      await registerFleet({ ...register, devIds, accessCode: f.accessCode!, model: f.model ?? 'C11' })
    }
    fleet = await startFleet(f)
  } catch (err) {
    process.stderr.write(`simulate: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  }
  process.stdout.write(`${describe(fleet, options.json)}\n`)
  process.stderr.write(`simulate: ${fleet.printers.length} printer(s) running; stop with Ctrl-C\n`)

  // The printers' timers do not hold the process open; this does, until a signal.
  const keepAlive = setInterval(() => {}, 1 << 30)
  let stopping = false
  const stop = () => {
    if (stopping) process.exit(1)
    stopping = true
    clearInterval(keepAlive)
    fleet.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`simulate: error while stopping: ${err instanceof Error ? err.message : String(err)}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

main().catch((err) => {
  process.stderr.write(`simulate: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
