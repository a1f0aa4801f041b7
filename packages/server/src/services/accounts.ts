/** Accounts: creating, reading, changing and removing users, and checking passwords. TFA secrets are sealed at rest. */
import type { LoginPolicy } from '@bambu-cloud/protocol'
import type { ServiceContext } from '../context.ts'
import type { UserRow } from '../db/schema.ts'
import { ApiError } from '../errors.ts'
import { hashPassword, verifyPassword } from '../lib/password.ts'
import { SEALED_PREFIX } from '../lib/secret-box.ts'
import { generateTotpSecret } from '../lib/totp.ts'
import type { TokenService } from './tokens.ts'

export const MIN_PASSWORD_LENGTH = 8
const ACCOUNT_PATTERN = /^(?:[^\s@]+@[^\s@]+\.[^\s@]+|\+?\d{6,15})$/

/** Accounts compare case-insensitively and without surrounding space. */
export function normalizeAccount(account: string): string {
  return account.trim().toLowerCase()
}

export interface NewAccount {
  account: string
  password: string
  name?: string | undefined
  login_policy?: LoginPolicy | undefined
}

export interface AccountChanges {
  name?: string | undefined
  password?: string | undefined
  login_policy?: LoginPolicy | undefined
  disabled?: boolean | undefined
}

export class AccountService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly tokens: TokenService,
  ) {}

  /** The row as callers see it: its TFA secret in plain. */
  private opened(row: UserRow): UserRow {
    return row.tfa_secret === null ? row : { ...row, tfa_secret: this.ctx.secrets.open(row.tfa_secret) }
  }

  private newTfaSecret(): string {
    return this.ctx.secrets.seal(generateTotpSecret())
  }

  /** Start-up step: seals the TFA secrets an earlier version stored in plain; returns how many. */
  async sealTfaSecrets(): Promise<number> {
    const { db } = this.ctx.database
    const plain = await db.selectFrom('users').select(['uid', 'tfa_secret']).where('tfa_secret', 'is not', null).where('tfa_secret', 'not like', `${SEALED_PREFIX}%`).execute()
    for (const { uid, tfa_secret } of plain) {
      await db.updateTable('users').set({ tfa_secret: this.ctx.secrets.seal(tfa_secret!) }).where('uid', '=', uid).where('tfa_secret', '=', tfa_secret).execute()
    }
    return plain.length
  }

  async create(input: NewAccount): Promise<UserRow> {
    const account = normalizeAccount(input.account)
    if (!ACCOUNT_PATTERN.test(account) || account.length > 254) {
      throw new ApiError('badRequest', 'account must be an e-mail address or a phone number')
    }
    checkPassword(input.password)
    const policy = input.login_policy ?? 'password'
    const now = this.ctx.now()
    const name = input.name?.trim() || account.split('@')[0]!
    const row = await this.ctx.database.db
      .insertInto('users')
      .values({
        account,
        name,
        handle: name.toLowerCase().replace(/[^a-z0-9_]+/g, '') || 'user',
        avatar: '',
        bio: '',
        disabled: 0,
        tfa_last_step: 0,
        password_hash: await hashPassword(input.password),
        login_policy: policy,
        tfa_secret: policy === 'tfa' ? this.newTfaSecret() : null,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('account').doNothing())
      .returningAll()
      .executeTakeFirst()
    if (!row) throw new ApiError('conflict', `account ${account} already exists`)
    return this.opened(row)
  }

  async byUid(uid: number): Promise<UserRow | undefined> {
    // A uid too large for the column (say 20 digits) names nobody; PostgreSQL would refuse it.
    if (!Number.isSafeInteger(uid)) return undefined
    const row = await this.ctx.database.db.selectFrom('users').selectAll().where('uid', '=', uid).executeTakeFirst()
    return row && this.opened(row)
  }

  async byAccount(account: string): Promise<UserRow | undefined> {
    const row = await this.ctx.database.db
      .selectFrom('users')
      .selectAll()
      .where('account', '=', normalizeAccount(account))
      .executeTakeFirst()
    return row && this.opened(row)
  }

  async list(): Promise<UserRow[]> {
    const rows = await this.ctx.database.db.selectFrom('users').selectAll().orderBy('uid').execute()
    return rows.map((row) => this.opened(row))
  }

  /**
   * The user whose password this is, or null. Unknown, disabled and wrong-password
   * accounts are indistinguishable to the caller, in answer and in time.
   */
  async checkCredentials(account: string, password: string): Promise<UserRow | null> {
    const user = await this.byAccount(account)
    const ok = await verifyPassword(user?.password_hash ?? null, password)
    return ok && user && !user.disabled ? user : null
  }

  async update(uid: number, changes: AccountChanges): Promise<UserRow> {
    const user = await this.byUid(uid)
    if (!user) throw new ApiError('notFound', `no user ${uid}`)
    const set: Partial<UserRow> = { updated_at: this.ctx.now() }
    if (changes.name !== undefined) set.name = changes.name.trim() || user.name
    if (changes.password !== undefined) {
      checkPassword(changes.password)
      set.password_hash = await hashPassword(changes.password)
    }
    if (changes.login_policy !== undefined && changes.login_policy !== user.login_policy) {
      set.login_policy = changes.login_policy
      // Turning TFA on hands out a fresh secret; turning it off forgets the old one.
      set.tfa_secret = changes.login_policy === 'tfa' ? this.newTfaSecret() : null
      set.tfa_last_step = 0
    }
    if (changes.disabled !== undefined) set.disabled = changes.disabled ? 1 : 0
    const updated = await this.ctx.database.db
      .updateTable('users')
      .set(set)
      .where('uid', '=', uid)
      .returningAll()
      .executeTakeFirstOrThrow()
    if (changes.password !== undefined || changes.disabled === true) await this.tokens.revokeAllForUser(uid)
    return this.opened(updated)
  }

  async remove(uid: number): Promise<void> {
    if (!Number.isSafeInteger(uid)) throw new ApiError('notFound', `no user ${uid}`)
    const res = await this.ctx.database.db.deleteFrom('users').where('uid', '=', uid).executeTakeFirst()
    if (Number(res.numDeletedRows) === 0) throw new ApiError('notFound', `no user ${uid}`)
    // Its logins went with it: sessions still open on their tokens (MQTT) end now.
    this.tokens.revoked.emit({ uid })
  }
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new ApiError('badRequest', `password must be at least ${MIN_PASSWORD_LENGTH} characters`)
  }
}
