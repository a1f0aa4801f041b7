/**
 * `login`, `logout`, `whoami`.
 *
 * The password comes from `BAMBU_PASSWORD` or, on a terminal, a prompt; never from the
 * command line. An account that asks for a second step gets it from `--code` (the code a
 * password login had mailed) or `--tfa-code` (the authenticator's), or from a prompt on a
 * terminal. Without a terminal nothing is asked: a missing input is a usage error (exit 2).
 *
 * @example
 * BAMBU_PASSWORD=... bambu-cloud login --base-url http://localhost:8080 --account you@example.com
 * bambu-cloud login --account you@example.com --code 123456      # the mailed code, no password needed
 * BAMBU_PASSWORD=... bambu-cloud login --account you@example.com --tfa-code 654321
 */
import { AuthenticationError, type LoginResult } from '@bambu-cloud/client'
import type { Command } from 'commander'
import { connectionOptions, withContext, type Context } from '../context.ts'
import { UsageError } from '../errors.ts'
import { ask, askSecret, canPrompt } from '../prompt.ts'

interface LoginOptions {
  account?: string
  code?: string
  tfaCode?: string
}

export function registerAuthCommands(program: Command): void {
  connectionOptions(program.command('login'))
    .description('log in and keep the tokens (password from BAMBU_PASSWORD, or asked on a terminal)')
    .option('--account <account>', 'the account (env BAMBU_ACCOUNT)')
    .option('--code <code>', 'log in with the code a password login had mailed (no password needed)')
    .option('--tfa-code <code>', "the authenticator app's code, for accounts that ask for one")
    .action(withContext(login))

  connectionOptions(program.command('logout'))
    .description('revoke the saved login on the server and forget it')
    .action(withContext(logout))

  connectionOptions(program.command('whoami'))
    .description('the logged-in account (--json: the profile)')
    .action(withContext(whoami))
}

async function login(ctx: Context): Promise<void> {
  const options = ctx.opts<LoginOptions>()
  const interactive = canPrompt()
  const account = options.account ?? (ctx.env.BAMBU_ACCOUNT || undefined) ?? (interactive ? await ask('Account: ') : missing('no account: pass --account or set BAMBU_ACCOUNT'))
  const cloud = ctx.cloud({ account })

  let result: LoginResult
  if (options.code !== undefined) {
    result = await cloud.auth.loginWithCode({ account, code: options.code })
  } else {
    const password =
      (ctx.env.BAMBU_PASSWORD || undefined) ??
      (interactive ? await askSecret(`Password for ${account}: `) : missing('no password: set BAMBU_PASSWORD (it is never taken on the command line)'))
    result = await cloud.auth.login({ account, password })
    if (result.kind === 'verifyCode') {
      const code = interactive
        ? await ask(`Code sent to ${account}: `)
        : missing(`the server sent a login code to ${account}: run \`bambu-cloud login --account ${account} --code CODE\` with it`)
      result = await cloud.auth.loginWithCode({ account, code })
    }
  }
  if (result.kind === 'verifyCode') throw new UsageError(`the server asks for a new login code: run \`bambu-cloud login\` with the password again`)
  if (result.kind === 'tfa') {
    const tfaCode =
      options.tfaCode ??
      (interactive
        ? await ask('Authenticator code: ')
        : missing('this account needs an authenticator code: run `bambu-cloud login` again with --tfa-code CODE'))
    await cloud.auth.loginWithTfa({ tfaKey: result.tfaKey, tfaCode })
  }
  // The tokens were saved as they arrived (the client's onTokens).
  if (ctx.out.json) ctx.out.printJson({ account, baseUrl: ctx.baseUrl() })
  else ctx.out.note(`Logged in to ${ctx.baseUrl()} as ${account}.`)
}

async function logout(ctx: Context): Promise<void> {
  const baseUrl = ctx.baseUrl()
  const saved = ctx.store.session(baseUrl)
  if (!saved) {
    ctx.out.note(`Not logged in to ${baseUrl}.`)
    return
  }
  try {
    await ctx.cloud().auth.logout()
  } catch (err) {
    // Already revoked or expired on the server: forgetting it here is all that is left.
    // Any other failure keeps the tokens, so a later logout can still revoke them.
    if (!(err instanceof AuthenticationError)) throw err
  }
  ctx.store.remove(baseUrl)
  ctx.out.note(`Logged out of ${baseUrl} (${saved.account}).`)
}

async function whoami(ctx: Context): Promise<void> {
  const profile = await ctx.cloud().user.profile()
  if (ctx.out.json) return ctx.out.printJson(profile)
  ctx.out.fields([
    ['account', profile.account],
    ['name', profile.name],
    ['uid', String(profile.uid)],
    ['server', ctx.baseUrl()],
  ])
}

function missing(message: string): never {
  throw new UsageError(message)
}
