/**
 * `cloud.auth`: user-service logins (password, emailed or texted code, authenticator app,
 * sign-on ticket), token refresh and logout. A login that brings tokens makes the client
 * use them from then on.
 */
import type { TokenReply } from '@bambu-cloud/protocol'
import type { BambuCloud } from '../client.ts'
import { untilAborted } from '../core/abort.ts'
import { BambuApiError } from '../core/errors.ts'
import { path } from '../core/path.ts'
import { APIResource } from '../core/resource.ts'
import type { Session, Tokens } from '../core/session.ts'
import type { RequestOptions } from '../core/transport.ts'
import type { Ticket } from '../types.ts'

/**
 * What a login step answers: tokens, or the step still to take, a code sent by mail
 * (`verifyCode`: call `loginWithCode`) or an authenticator code (`tfa`: call `loginWithTfa`).
 */
export type LoginResult = Tokens | { kind: 'verifyCode' } | { kind: 'tfa'; tfaKey: string }

const USER = '/v1/user-service/user'

export class Auth extends APIResource {
  constructor(
    client: BambuCloud,
    private readonly session: Session,
  ) {
    super(client)
  }

  /**
   * Logs in with a password (`POST user/login`).
   *
   * @example
   * const result = await cloud.auth.login({ account: 'you@example.com', password: 'a long password' })
   * if (result.kind === 'verifyCode') await cloud.auth.loginWithCode({ account: 'you@example.com', code: await ask('code?') })
   * else if (result.kind === 'tfa') await cloud.auth.loginWithTfa({ tfaKey: result.tfaKey, tfaCode: await ask('code?') })
   */
  async login(body: { account: string; password: string }, options?: RequestOptions): Promise<LoginResult> {
    return this.step(await this.open<TokenReply>(`${USER}/login`, body, options))
  }

  /**
   * Logs in with a code sent by mail or text (`POST user/login` with `code`). An account
   * with an authenticator still answers `tfa`.
   *
   * @example
   * await cloud.auth.sendEmailCode({ email: 'you@example.com' })
   * const result = await cloud.auth.loginWithCode({ account: 'you@example.com', code: '123456' })
   */
  async loginWithCode(body: { account: string; code: string }, options?: RequestOptions): Promise<LoginResult> {
    return this.step(await this.open<TokenReply>(`${USER}/login`, body, options))
  }

  /**
   * Finishes a `tfa` login with the authenticator app's code (`POST user/tfa/login`).
   *
   * @example
   * const tokens = await cloud.auth.loginWithTfa({ tfaKey: result.tfaKey, tfaCode: '123456' })
   */
  async loginWithTfa(body: { tfaKey: string; tfaCode: string }, options?: RequestOptions): Promise<Tokens> {
    return this.session.accept(await this.open<TokenReply>(`${USER}/tfa/login`, body, options))
  }

  /**
   * Sends a login code by mail (`POST user/sendemail/code`, type `codeLogin`).
   *
   * @example
   * await cloud.auth.sendEmailCode({ email: 'you@example.com' })
   */
  async sendEmailCode(body: { email: string }, options?: RequestOptions): Promise<void> {
    await this.open(`${USER}/sendemail/code`, { email: body.email, type: 'codeLogin' }, options)
  }

  /**
   * Sends a login code by text message (`POST user/sendsmscode`, type `codeLogin`).
   *
   * @example
   * await cloud.auth.sendSmsCode({ phone: '+15550100' })
   */
  async sendSmsCode(body: { phone: string }, options?: RequestOptions): Promise<void> {
    await this.open(`${USER}/sendsmscode`, { phone: body.phone, type: 'codeLogin' }, options)
  }

  /**
   * Rotates the tokens with the refresh token held (`POST user/refreshtoken`). Calls
   * that get a 401 do this on their own; concurrent ones share one refresh.
   *
   * @example
   * const { accessToken, expiresIn } = await cloud.auth.refresh()
   */
  refresh(options?: RequestOptions): Promise<Tokens> {
    return untilAborted(this.session.refresh(), options?.signal)
  }

  /**
   * Revokes this login's tokens (`POST my/logout`) and forgets them.
   *
   * @example
   * await cloud.auth.logout()
   */
  async logout(options?: RequestOptions): Promise<void> {
    // Observed clients send the key in lowercase and empty; the server revokes by the Bearer token.
    await this.client.request({ method: 'POST', path: '/v1/user-service/my/logout', body: { refreshtoken: '' } }, options)
    this.session.clear()
  }

  /**
   * Issues a single-use sign-on ticket for a slicer (`GET user/ticket`).
   *
   * @example
   * const { ticket } = await cloud.auth.ticket()
   */
  ticket(options?: RequestOptions): Promise<Ticket> {
    return this.client.request({ method: 'GET', path: `${USER}/ticket` }, options)
  }

  /**
   * Trades a sign-on ticket for tokens (`POST user/ticket/{ticket}`).
   *
   * @example
   * const tokens = await slicerClient.auth.exchangeTicket(ticket)
   */
  async exchangeTicket(ticket: string, options?: RequestOptions): Promise<Tokens> {
    return this.session.accept(await this.open<TokenReply>(path`/v1/user-service/user/ticket/${ticket}`, { ticket }, options))
  }

  /** A POST to a route that takes no access token. */
  private open<T>(route: string, body: unknown, options: RequestOptions | undefined): Promise<T> {
    return this.client.request<T>({ method: 'POST', path: route, body, auth: false }, options)
  }

  /** Tokens are kept; the other answers say which step comes next. */
  private async step(reply: TokenReply): Promise<LoginResult> {
    if (typeof reply.accessToken === 'string' && reply.accessToken !== '') return this.session.accept(reply)
    if (reply.loginType === 'verifyCode') return { kind: 'verifyCode' }
    if (reply.loginType === 'tfa' && typeof reply.tfaKey === 'string' && reply.tfaKey !== '') return { kind: 'tfa', tfaKey: reply.tfaKey }
    throw new BambuApiError(200, reply, 'The login answer carries neither tokens nor a next step.')
  }
}
