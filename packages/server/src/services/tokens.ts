/**
 * Logins and their tokens. A login is one sign-in; refreshing rotates its token pair.
 * Tokens are stored only as SHA-256 hashes. A refresh token presented a second time means
 * it leaked, so the whole login is revoked (RFC 9700, 4.14.2); except within
 * REFRESH_REUSE_GRACE seconds of its first use, when it is a client's own parallel refresh
 * and gets a pair of its own (the leeway RFC 9700 allows).
 */
import type { ServiceContext } from '../context.ts'
import { ApiError } from '../errors.ts'
import { signJwt } from '../lib/jwt.ts'
import { randomToken, sha256 } from '../lib/secrets.ts'
import { Signal } from '../lib/signal.ts'
import { serverSecret } from './server-secrets.ts'

export type LoginMethod = 'password' | 'code' | 'tfa' | 'ticket'

export interface TokenPair {
  uid: number
  accessToken: string
  refreshToken: string
  /** Seconds. */
  expiresIn: number
  refreshExpiresIn: number
  method: LoginMethod
}

export interface Principal {
  uid: number
  loginId: string
  /** Milliseconds the token has left (by the service's clock): live MQTT sessions end then. */
  expiresInMs: number
}

/** What a revocation ended: one login, or every login of a user. */
export type Revocation = { loginId: string } | { uid: number }

export class TokenService {
  private jwtSecret: Promise<string> | undefined
  /** Fires after logins are revoked, so live sessions (MQTT) built on them end too. */
  readonly revoked = new Signal<Revocation>((err) => this.ctx.log.error({ err }, 'a listener of login revocations failed'))

  constructor(private readonly ctx: ServiceContext) {}

  private ttlFor(method: string): number {
    return method === 'ticket' ? this.ctx.config.ticketTokenTtl : this.ctx.config.accessTokenTtl
  }

  /** Starts a login for a user and hands out its first token pair. */
  async startLogin(uid: number, method: LoginMethod): Promise<TokenPair> {
    const loginId = randomToken(16)
    await this.ctx.database.db
      .insertInto('logins')
      .values({ id: loginId, uid, method, created_at: this.ctx.now(), revoked_at: null })
      .execute()
    return this.issuePair(loginId, uid, method)
  }

  private async issuePair(loginId: string, uid: number, method: LoginMethod): Promise<TokenPair> {
    const now = this.ctx.now()
    const ttl = this.ttlFor(method)
    const expiresAt = now + ttl * 1000
    const accessToken =
      this.ctx.config.tokenFormat === 'jwt'
        ? signJwt(
            { username: `u_${uid}`, uid, iat: Math.floor(now / 1000), exp: Math.floor(expiresAt / 1000), jti: randomToken(12) },
            await this.signingSecret(),
          )
        : randomToken(32)
    const refreshToken = randomToken(32)
    await this.ctx.database.db
      .insertInto('tokens')
      .values([
        { hash: sha256(accessToken), login_id: loginId, kind: 'access', expires_at: expiresAt, used_at: null, created_at: now },
        { hash: sha256(refreshToken), login_id: loginId, kind: 'refresh', expires_at: expiresAt, used_at: null, created_at: now },
      ])
      .execute()
    return { uid, accessToken, refreshToken, expiresIn: ttl, refreshExpiresIn: ttl, method }
  }

  /** The JWT signing key: one per database, so every server process shares it. */
  signingSecret(): Promise<string> {
    this.jwtSecret ??= serverSecret(this.ctx, 'jwt')
    return this.jwtSecret
  }

  /** Who an access token belongs to, or null when it is unknown, expired or revoked. */
  async authenticate(accessToken: string): Promise<Principal | null> {
    const row = await this.ctx.database.db
      .selectFrom('tokens as t')
      .innerJoin('logins as l', 'l.id', 't.login_id')
      .innerJoin('users as u', 'u.uid', 'l.uid')
      .select(['u.uid', 'l.id as loginId', 't.expires_at', 'l.revoked_at', 'u.disabled'])
      .where('t.hash', '=', sha256(accessToken))
      .where('t.kind', '=', 'access')
      .executeTakeFirst()
    const now = this.ctx.now()
    if (!row || row.revoked_at !== null || row.disabled || row.expires_at <= now) return null
    return { uid: row.uid, loginId: row.loginId, expiresInMs: row.expires_at - now }
  }

  /**
   * Exchanges a refresh token for a new pair. The old refresh token stops working once the
   * grace has passed; the old access token lives on until it expires (clients and MQTT
   * sessions still hold it).
   */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const { db } = this.ctx.database
    const now = this.ctx.now()
    const hash = sha256(refreshToken)
    const row = await db
      .selectFrom('tokens as t')
      .innerJoin('logins as l', 'l.id', 't.login_id')
      .innerJoin('users as u', 'u.uid', 'l.uid')
      .select(['t.used_at', 't.expires_at', 'l.id as loginId', 'l.method', 'l.revoked_at', 'u.uid', 'u.disabled'])
      .where('t.hash', '=', hash)
      .where('t.kind', '=', 'refresh')
      .executeTakeFirst()
    if (!row || row.revoked_at !== null || row.disabled || row.expires_at <= now) throw new ApiError('unauthorized')
    let usedAt = row.used_at
    if (usedAt === null) {
      const marked = await db.updateTable('tokens').set({ used_at: now }).where('hash', '=', hash).where('used_at', 'is', null).executeTakeFirst()
      // Of two racing refreshes with the same token one marks it used; the other finds it used just now.
      if (Number(marked.numUpdatedRows) !== 1) usedAt = now
    }
    if (usedAt !== null && now - usedAt >= this.ctx.config.refreshReuseGrace * 1000) {
      await this.revokeLogin(row.loginId)
      throw new ApiError('unauthorized')
    }
    return this.issuePair(row.loginId, row.uid, row.method as LoginMethod)
  }

  async revokeLogin(loginId: string): Promise<void> {
    await this.ctx.database.db
      .updateTable('logins')
      .set({ revoked_at: this.ctx.now() })
      .where('id', '=', loginId)
      .where('revoked_at', 'is', null)
      .execute()
    this.revoked.emit({ loginId })
  }

  /**
   * Ends every way back in for a user: its logins and their tokens, and the sign-on
   * tickets and TFA challenges not yet used (after a password change or disabling).
   */
  async revokeAllForUser(uid: number): Promise<void> {
    const { db } = this.ctx.database
    const now = this.ctx.now()
    await db.updateTable('logins').set({ revoked_at: now }).where('uid', '=', uid).where('revoked_at', 'is', null).execute()
    await db.updateTable('tickets').set({ spent_at: now }).where('uid', '=', uid).where('spent_at', 'is', null).execute()
    await db.updateTable('tfa_challenges').set({ spent_at: now }).where('uid', '=', uid).where('spent_at', 'is', null).execute()
    this.revoked.emit({ uid })
  }
}
