/**
 * The client's tokens: what a login or refresh brought, handed to `onTokens` for keeping,
 * and one shared refresh at a time, so many calls failing with 401 together rotate the
 * refresh token once (the server revokes a login whose refresh token is used twice).
 */
import type { TokenReply } from '@bambu-cloud/protocol'
import { AuthenticationError, BambuApiError } from './errors.ts'
import type { Transport } from './transport.ts'

/** A token answer that carries tokens: the wire body, tagged for `LoginResult`. */
export type Tokens = TokenReply & { kind: 'tokens' }

export type TokensListener = (tokens: Tokens) => void | Promise<void>

export class Session {
  accessToken: string | undefined
  refreshToken: string | undefined
  #refreshing: Promise<Tokens> | null = null

  constructor(
    private readonly transport: Transport,
    tokens: { accessToken?: string | undefined; refreshToken?: string | undefined },
    private readonly onTokens: TokensListener | undefined,
  ) {
    this.accessToken = tokens.accessToken || undefined
    this.refreshToken = tokens.refreshToken || undefined
  }

  /** Keeps the tokens of a token answer, then tells `onTokens` (awaited; its failure is the caller's). */
  async accept(reply: TokenReply): Promise<Tokens> {
    if (typeof reply?.accessToken !== 'string' || reply.accessToken === '') {
      throw new BambuApiError(200, reply, 'The token answer carries no access token.')
    }
    this.accessToken = reply.accessToken
    this.refreshToken = reply.refreshToken || undefined
    const tokens: Tokens = { kind: 'tokens', ...reply }
    await this.onTokens?.(tokens)
    return tokens
  }

  clear(): void {
    this.accessToken = undefined
    this.refreshToken = undefined
  }

  /**
   * Rotates the tokens with the refresh token; while one rotation runs, every caller
   * shares it. Runs without any caller's signal, so one caller giving up does not fail
   * the others.
   */
  refresh(): Promise<Tokens> {
    this.#refreshing ??= this.#rotate().finally(() => {
      this.#refreshing = null
    })
    return this.#refreshing
  }

  async #rotate(): Promise<Tokens> {
    const refreshToken = this.refreshToken
    if (refreshToken === undefined) throw new AuthenticationError(401, undefined, 'No refresh token: log in first.')
    const reply = await this.transport.send(
      { method: 'POST', path: '/v1/user-service/user/refreshtoken', body: { refreshToken }, auth: false },
      undefined,
    )
    return this.accept(reply as TokenReply)
  }
}
