/**
 * `serve`: runs the server exactly as `npm start` does: node with `--conditions=source
 * --import tsx` on packages/server/src/main.ts, from the root of the checkout this CLI is
 * installed in (so `./data` is the same directory). Configuration is the server's own
 * environment variables. SIGINT, SIGTERM and SIGHUP are passed on; the exit code is the
 * server's.
 *
 * @example
 * bambu-cloud serve
 * PORT=9090 DATABASE_URL=postgres://... bambu-cloud serve
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Command } from 'commander'
import { CliError } from '../errors.ts'

const SERVER_MAIN = path.join('packages', 'server', 'src', 'main.ts')
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

export function registerServeCommand(program: Command, onExit: (code: number) => void): void {
  program
    .command('serve')
    .description('start the server, as `npm start` does (configured by its environment variables, see the README)')
    .action(async () => onExit(await serve()))
}

/** The checkout this file is part of: the first directory up that holds the server's entry point. */
export function workspaceRoot(from = import.meta.dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, SERVER_MAIN))) return dir
    if (path.dirname(dir) === dir) throw new CliError(`cannot find ${SERVER_MAIN} above ${from}: serve runs from a bambu-cloud checkout`)
  }
}

/** Runs the server until it exits; resolves to the exit code to leave with. */
function serve(): Promise<number> {
  return runFromCheckout(SERVER_MAIN, [])
}

/**
 * Runs a server-side entry point (relative to the checkout) with node and tsx until it
 * exits, passing on signals; resolves to the exit code to leave with.
 */
export function runFromCheckout(entry: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const root = workspaceRoot()
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', path.join(root, entry), ...args], { cwd: root, stdio: 'inherit', env })
  const forward = (signal: NodeJS.Signals) => child.kill(signal)
  for (const signal of FORWARDED) process.on(signal, forward)
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new CliError(`cannot start ${entry}: ${err.message}`)))
    child.once('exit', (code, signal) => {
      for (const s of FORWARDED) process.off(s, forward)
      // Killed by a signal: the shell's convention, 128 + its number.
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0))
    })
  })
}
