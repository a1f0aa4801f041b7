/**
 * Every way to log in, as one set of rules: password, emailed/texted code, TFA, slicer
 * ticket. Routes (JSON API, web-host API, the sign-in page) only translate the outcome.
 */
import type { ServiceContext } from '../context.ts'
import type { UserRow } from '../db/schema.ts'
import { ApiError } from '../errors.ts'
import { normalizeAccount, type AccountService } from './accounts.ts'
import type { LoginCodeService } from './login-codes.ts'
import type { MessageKind } from './mailer.ts'
import type { Bucket, LoginGuard } from './login-guard.ts'
import type { TfaService } from './tfa.ts'
import type { TicketService } from './tickets.ts'
import type { TokenPair, TokenService } from './tokens.ts'

export type LoginOutcome =
  | { kind: 'tokens'; pair: TokenPair }
  | { kind: 'verifyCode' }
  | { kind: 'tfa'; tfaKey: string }

export class LoginService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly accounts: AccountService,
    private readonly tokens: TokenService,
    private readonly codes: LoginCodeService,
    private readonly tfa: TfaService,
    private readonly tickets: TicketService,
    private readonly guard: LoginGuard,
  ) {}

  private failureBuckets(account: string | null, address: string): Bucket[] {
    const limits = this.ctx.config.rateLimits
    const buckets: Bucket[] = [{ key: `fail:addr:${address}`, limit: limits.failuresPerAddress }]
    if (account !== null) buckets.push({ key: `fail:acct:${account}`, limit: limits.failuresPerAccount })
    return buckets
  }

  async withPassword(rawAccount: string, password: string, address: string): Promise<LoginOutcome> {
    const account = normalizeAccount(rawAccount)
    const attempt = await this.guard.claim(this.failureBuckets(account, address))
    const user = await this.accounts.checkCredentials(account, password)
    if (!user) throw new ApiError('incorrectPassword')
    await attempt.giveBack()
    switch (user.login_policy) {
      case 'email_code':
        await this.sendCodeTo(user, 'email_code')
        return { kind: 'verifyCode' }
      case 'tfa':
        return { kind: 'tfa', tfaKey: await this.tfa.startChallenge(user.uid) }
      default:
        return { kind: 'tokens', pair: await this.tokens.startLogin(user.uid, 'password') }
    }
  }

  async withCode(rawAccount: string, code: string, address: string): Promise<LoginOutcome> {
    const account = normalizeAccount(rawAccount)
    const attempt = await this.guard.claim(this.failureBuckets(account, address))
    const user = await this.accounts.byAccount(account)
    // An unknown or disabled account has no live code: the same answer as an expired one.
    const result = user && !user.disabled ? await this.codes.check(user.uid, code) : 'expired'
    if (result === 'expired') throw new ApiError('codeExpired')
    if (result === 'wrong') throw new ApiError('incorrectCode')
    await attempt.giveBack()
    // A code proves the mailbox, not the authenticator: TFA accounts still take that step.
    if (user!.login_policy === 'tfa') return { kind: 'tfa', tfaKey: await this.tfa.startChallenge(user!.uid) }
    return { kind: 'tokens', pair: await this.tokens.startLogin(user!.uid, 'code') }
  }

  async withTfa(tfaKey: string, tfaCode: string, address: string): Promise<TokenPair> {
    const owner = await this.tfa.ownerOf(tfaKey)
    const user = owner === null ? undefined : await this.accounts.byUid(owner)
    const attempt = await this.guard.claim(this.failureBuckets(user?.account ?? null, address))
    const result = await this.tfa.complete(tfaKey, tfaCode)
    if (!result.ok) throw new ApiError('loginFailed')
    await attempt.giveBack()
    return this.tokens.startLogin(result.uid, 'tfa')
  }

  async withTicket(ticket: string, address: string): Promise<TokenPair> {
    const attempt = await this.guard.claim(this.failureBuckets(null, address))
    const uid = await this.tickets.redeem(ticket)
    if (uid === null) throw new ApiError('loginFailed')
    await attempt.giveBack()
    return this.tokens.startLogin(uid, 'ticket')
  }

  /**
   * Sends a login code on request. The answer is the same whether or not the account
   * exists; the send counts against the account's limit either way.
   */
  async sendCode(rawAccount: string, kind: MessageKind): Promise<void> {
    const account = normalizeAccount(rawAccount)
    const user = await this.accounts.byAccount(account)
    if (user && !user.disabled) await this.sendCodeTo(user, kind)
    else await this.countSend(account)
  }

  private async sendCodeTo(user: UserRow, kind: MessageKind): Promise<void> {
    await this.countSend(user.account)
    await this.codes.send(user.uid, user.account, kind)
  }

  private async countSend(account: string): Promise<void> {
    // A send keeps its slot: every code sent counts, whether or not it is used.
    await this.guard.claim([{ key: `send:acct:${account}`, limit: this.ctx.config.rateLimits.codeSendsPerAccount }])
  }
}
