/**
 * `status`: each printer's live print, with a progress bar on a terminal.
 *
 * `--watch [seconds]` redraws every few seconds on a terminal until Ctrl-C (or `--count`
 * frames). Not on a terminal it never runs unbounded: it prints `--count` snapshots
 * (default 1), each a block of lines. With `--json`, each snapshot is one JSON line.
 *
 * @example
 * bambu-cloud status
 * bambu-cloud status --watch 2
 * bambu-cloud status --json                          # the `devices` array of user/print
 * bambu-cloud status --watch 10 --count 6 --json     # six JSON lines, a minute apart
 */
import type { DevicePrint } from '@bambu-cloud/client'
import { InvalidArgumentError, type Command } from 'commander'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectionOptions, integer, withContext, type Context } from '../context.ts'
import { Interrupted } from '../errors.ts'
import { duration, paintState } from '../format.ts'

interface StatusOptions {
  watch?: number | true
  count?: number
}

const DEFAULT_INTERVAL_SECONDS = 5

export function registerStatusCommand(program: Command): void {
  connectionOptions(program.command('status'))
    .description("each printer's live print: state, progress, task, time left")
    .option('--watch [seconds]', `redraw every SECONDS (default ${DEFAULT_INTERVAL_SECONDS}) until Ctrl-C; not on a terminal, see --count`, seconds)
    .option('--count <n>', 'with --watch: stop after N snapshots (default: unbounded on a terminal, 1 otherwise)', integer(1))
    .action(withContext(status))
}

function seconds(text: string): number {
  const n = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || n <= 0) throw new InvalidArgumentError('expected a number of seconds above 0')
  return n
}

async function status(ctx: Context): Promise<void> {
  const options = ctx.opts<StatusOptions>()
  const cloud = ctx.cloud()
  if (options.watch === undefined) return render(ctx, await cloud.devices.printStatus(), false)

  const intervalMs = (options.watch === true ? DEFAULT_INTERVAL_SECONDS : options.watch) * 1000
  // Unbounded only on a terminal; redrawn in place only when it is a table.
  const frames = options.count ?? (ctx.out.tty ? Infinity : 1)
  const live = ctx.out.tty && !ctx.out.json
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once('SIGINT', onSignal)
  if (live) ctx.out.write('\x1b[?25l') // hide the cursor while redrawing
  try {
    for (let frame = 0; frame < frames && !stop.signal.aborted; frame++) {
      if (frame > 0) await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => undefined)
      if (stop.signal.aborted) break
      const list = await cloud.devices.printStatus({ signal: stop.signal }).catch((err) => {
        if (stop.signal.aborted) return null
        throw err
      })
      if (list === null) break
      if (live) {
        ctx.out.write('\x1b[H\x1b[2J') // home, clear the screen
        ctx.out.write(`${ctx.out.style.dim(`every ${intervalMs / 1000}s, ${new Date().toLocaleTimeString()}; Ctrl-C to stop`)}\n\n`)
      }
      render(ctx, list, true)
    }
  } finally {
    process.off('SIGINT', onSignal)
    if (live) ctx.out.write('\x1b[?25h')
  }
  // Ctrl-C ends the watch: tidied up, it exits as interrupted (130), as shells expect.
  if (stop.signal.aborted) throw new Interrupted()
}

function render(ctx: Context, list: DevicePrint[], watching: boolean): void {
  const { out } = ctx
  if (out.json) {
    // Watching prints JSON Lines: one compact array per snapshot.
    out.write(watching ? `${JSON.stringify(list)}\n` : `${JSON.stringify(list, null, 2)}\n`)
    return
  }
  out.table(
    list,
    [
      { header: 'DEV_ID', value: (p) => p.dev_id },
      { header: 'NAME', value: (p) => p.dev_name },
      { header: 'STATE', value: state, style: (p, text) => paintState(state(p), out.style)(text) },
      { header: 'PROGRESS', value: (p) => out.progress(p.progress) },
      { header: 'LEFT', value: (p) => (p.task_status === 'RUNNING' || p.task_status === 'PAUSE' ? duration(p.prediction) : '-'), align: 'right' },
      { header: 'TASK', value: (p) => p.task_name ?? '-' },
    ],
    'no printers',
  )
}

function state(p: DevicePrint): string {
  if (!p.dev_online) return 'OFFLINE'
  return p.task_status ?? 'IDLE'
}
