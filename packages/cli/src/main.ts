/**
 * The `bambu-cloud` program: every command, parsed by commander, and the one place that turns
 * an outcome into an exit code and an error line.
 *
 * @example
 * const code = await main(['devices', '--json'])   // 0, 1 (the API said no) or 2 (usage)
 */
import fs from 'node:fs'
import { Command, CommanderError } from 'commander'
import { registerAdminCommands } from './commands/admin.ts'
import { registerAuthCommands } from './commands/auth.ts'
import { registerDeviceCommands } from './commands/devices.ts'
import { registerHistoryCommands } from './commands/history.ts'
import { registerLiveCommands } from './commands/live.ts'
import { registerProjectsCommand } from './commands/projects.ts'
import { registerServeCommand } from './commands/serve.ts'
import { registerSimulateCommand } from './commands/simulate.ts'
import { registerSettingsCommands } from './commands/settings.ts'
import { registerStatusCommand } from './commands/status.ts'
import { connectionOptions, lastContext } from './context.ts'
import { describeError, EXIT_OK, EXIT_USAGE } from './errors.ts'

const HELP_FOOTER = `
Environment:
  BAMBU_BASE_URL     the server (default: the server of the latest login, else http://localhost:8080)
  BAMBU_ACCOUNT      the account to log in with
  BAMBU_PASSWORD     its password (otherwise asked on a terminal; never an argument)
  BAMBU_ADMIN_TOKEN  the admin API's token
  XDG_CONFIG_HOME    logins are kept in $XDG_CONFIG_HOME/bambu-cloud/tokens.json (default ~/.config)
  NO_COLOR           no colour on a terminal

Exit codes: 0 success, 1 the API (or the network) said no, 2 usage error, 130 Ctrl-C.

Examples:
  BAMBU_PASSWORD=... bambu-cloud login --account you@example.com
  bambu-cloud status --watch
  bambu-cloud devices --json
  bambu-cloud admin users create --account ada@example.com --password-env NEW_PASSWORD --policy tfa
`

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

/** Builds the program; `onExit` receives the exit code of a command that decides its own (serve). */
export function buildProgram(onExit: (code: number) => void = () => {}): Command {
  const program = new Command('bambu-cloud')
    .description('Command line for bambu-cloud servers (and the Bambu Lab cloud): printers, prints, presets, administration.')
    .version(version(), '-V, --version')
    // Options after a command name are that command's (`settings list --version` is the slicer's).
    .enablePositionalOptions()
    .exitOverride()
    .showSuggestionAfterError()
    .addHelpText('after', HELP_FOOTER)
  connectionOptions(program)
  program.option('--account <account>', 'the account to log in with (env BAMBU_ACCOUNT)')
  program.option('--admin-token <token>', 'the admin token (env BAMBU_ADMIN_TOKEN)')

  registerAuthCommands(program)
  registerDeviceCommands(program)
  registerStatusCommand(program)
  registerHistoryCommands(program)
  registerProjectsCommand(program)
  registerLiveCommands(program)
  registerSettingsCommands(program)
  registerAdminCommands(program)
  registerServeCommand(program, onExit)
  registerSimulateCommand(program, onExit)
  return program
}

/** Runs the CLI on `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = EXIT_OK
  const program = buildProgram((code) => (exitCode = code))
  try {
    await program.parseAsync(argv, { from: 'user' })
    return exitCode
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander printed the message or the help already.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE
    }
    const { line, exitCode: code } = describeError(err, lastContext()?.resolvedBaseUrl)
    if (line !== '') process.stderr.write(`error: ${line}\n`)
    return code
  }
}
