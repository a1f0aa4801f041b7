/**
 * `admin users`: create, list, read, change and delete accounts; `admin outbox`: the login
 * codes a server without SMTP keeps. A user is named by uid or by account.
 *
 * @example
 * NEW_PASSWORD='a long password' bambu-cloud admin users create --account ada@example.com --password-env NEW_PASSWORD --policy tfa
 * bambu-cloud admin users list
 * bambu-cloud admin users update ada@example.com --policy email_code
 * bambu-cloud admin outbox --account ada@example.com --json
 */
import { Option, type Command } from 'commander'
import type { AdminUser } from '../admin-api.ts'
import { adminOptions, withContext, type Context } from '../context.ts'
import { CliError, UsageError } from '../errors.ts'
import { when, yesNo } from '../format.ts'
import { askSecret, canPrompt } from '../prompt.ts'

const POLICIES = ['password', 'email_code', 'tfa'] as const
type Policy = (typeof POLICIES)[number]

interface UserOptions {
  account?: string
  name?: string
  policy?: Policy
  passwordEnv?: string
  disable?: boolean
  enable?: boolean
}

export function registerAdminUserCommands(admin: Command): void {
  const users = admin.command('users').description('accounts')

  adminOptions(users.command('list')).description('every account').action(withContext(list))

  adminOptions(users.command('create'))
    .description('create an account (tfa: prints the authenticator secret, once)')
    .requiredOption('--account <account>', 'its account (an email address)')
    .option('--password-env <var>', 'read the password from this environment variable (else asked on a terminal)')
    .option('--name <name>', 'display name')
    .addOption(new Option('--policy <policy>', 'login policy').choices(POLICIES))
    .action(withContext(create))

  adminOptions(users.command('get')).description('one account').argument('<user>', 'uid or account').action(withContext(get))

  adminOptions(users.command('update'))
    .description('change an account (a new password or disabling revokes its tokens)')
    .argument('<user>', 'uid or account')
    .option('--name <name>', 'display name')
    .addOption(new Option('--policy <policy>', 'login policy').choices(POLICIES))
    .option('--password-env <var>', 'set the password from this environment variable')
    .addOption(new Option('--disable', 'refuse its logins and revoke its tokens').conflicts('enable'))
    .option('--enable', 'allow its logins again')
    .action(withContext(update))

  adminOptions(users.command('delete')).description('delete an account and all it owns').argument('<user>', 'uid or account').action(withContext(remove))

  adminOptions(admin.command('outbox'))
    .description('login codes kept when the server has no SMTP, newest first')
    .option('--account <account>', 'only this account')
    .action(withContext(outbox))
}

async function list(ctx: Context): Promise<void> {
  const users = await ctx.admin().listUsers()
  if (ctx.out.json) return ctx.out.printJson(users)
  const { tty, style } = ctx.out
  ctx.out.table(
    users,
    [
      { header: 'UID', value: (u) => String(u.uid), align: 'right' },
      { header: 'ACCOUNT', value: (u) => u.account },
      { header: 'POLICY', value: (u) => u.login_policy },
      { header: 'DISABLED', value: (u) => yesNo(u.disabled), style: (u, text) => (u.disabled ? style.red(text) : text) },
      { header: 'CREATED', value: (u) => when(u.created_at, tty) },
      { header: 'NAME', value: (u) => u.name },
    ],
    'no users',
  )
}

function show(ctx: Context, user: AdminUser): void {
  if (ctx.out.json) return ctx.out.printJson(user)
  ctx.out.fields([
    ['uid', String(user.uid)],
    ['account', user.account],
    ['name', user.name],
    ['policy', user.login_policy],
    ['disabled', yesNo(user.disabled)],
    ['created', when(user.created_at, ctx.out.tty)],
    ...(user.tfa_secret ? [['tfa_secret', user.tfa_secret] as const] : []),
  ])
  if (user.tfa_secret) ctx.out.note('Give the tfa_secret to the user for their authenticator app: it is not shown again.')
}

async function create(ctx: Context): Promise<void> {
  const options = ctx.opts<UserOptions>()
  const password = await passwordFrom(ctx, options.passwordEnv) ?? (canPrompt() ? await askSecret(`Password for ${options.account}: `) : missingPassword())
  show(ctx, await ctx.admin().createUser({ account: options.account!, password, name: options.name, login_policy: options.policy }))
}

async function get(ctx: Context, [user]: string[]): Promise<void> {
  const admin = ctx.admin()
  show(ctx, await admin.getUser(await uidOf(ctx, user!)))
}

async function update(ctx: Context, [user]: string[]): Promise<void> {
  const options = ctx.opts<UserOptions>()
  const patch = {
    name: options.name,
    login_policy: options.policy,
    password: await passwordFrom(ctx, options.passwordEnv),
    disabled: options.disable ? true : options.enable ? false : undefined,
  }
  if (Object.values(patch).every((v) => v === undefined)) throw new UsageError('nothing to change: give --name, --policy, --password-env, --disable or --enable')
  show(ctx, await ctx.admin().updateUser(await uidOf(ctx, user!), patch))
}

async function remove(ctx: Context, [user]: string[]): Promise<void> {
  const uid = await uidOf(ctx, user!)
  await ctx.admin().deleteUser(uid)
  ctx.out.note(`Deleted user ${user}.`)
}

async function outbox(ctx: Context): Promise<void> {
  const messages = await ctx.admin().outbox(ctx.options.account)
  if (ctx.out.json) return ctx.out.printJson(messages)
  ctx.out.table(
    messages,
    [
      { header: 'CREATED', value: (m) => when(m.created_at, ctx.out.tty) },
      { header: 'KIND', value: (m) => m.kind },
      { header: 'CODE', value: (m) => m.code },
      { header: 'ACCOUNT', value: (m) => m.account },
    ],
    'no codes',
  )
}

/** A uid as given, or the uid of an account. */
async function uidOf(ctx: Context, user: string): Promise<number> {
  if (/^\d+$/.test(user)) return Number(user)
  const wanted = user.trim().toLowerCase()
  const found = (await ctx.admin().listUsers()).find((u) => u.account.toLowerCase() === wanted)
  if (!found) throw new CliError(`no user ${user}`)
  return found.uid
}

async function passwordFrom(ctx: Context, variable: string | undefined): Promise<string | undefined> {
  if (variable === undefined) return undefined
  const value = ctx.env[variable]
  if (!value) throw new UsageError(`--password-env ${variable}: that environment variable is not set`)
  return value
}

function missingPassword(): never {
  throw new UsageError('no password: pass --password-env VAR naming an environment variable that holds it')
}
