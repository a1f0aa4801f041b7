/**
 * The database's tables as Kysely sees them. Times are epoch milliseconds; booleans are
 * 0/1 integers, so one query code serves SQLite and PostgreSQL alike.
 */
import type { Generated, Insertable, Selectable } from 'kysely'

export interface UsersTable {
  uid: Generated<number>
  /** Lower-cased e-mail address (or phone number) the user logs in with. */
  account: string
  name: string
  avatar: string
  handle: string
  bio: string
  password_hash: string
  login_policy: 'password' | 'email_code' | 'tfa'
  tfa_secret: string | null
  /** The last TOTP step accepted, so a code works once. */
  tfa_last_step: number
  disabled: number
  created_at: number
  updated_at: number
}

/** One login: every token pair that refreshing it yields belongs to it. */
export interface LoginsTable {
  id: string
  uid: number
  method: string
  created_at: number
  revoked_at: number | null
}

export interface TokensTable {
  /** SHA-256 of the token. */
  hash: string
  login_id: string
  kind: 'access' | 'refresh'
  expires_at: number
  /** Refresh tokens: when it was exchanged; presenting it again revokes the login. */
  used_at: number | null
  created_at: number
}

export interface LoginCodesTable {
  id: Generated<number>
  uid: number
  code_hash: string
  created_at: number
  expires_at: number
  failures: number
  spent_at: number | null
}

export interface TfaChallengesTable {
  key_hash: string
  uid: number
  created_at: number
  expires_at: number
  failures: number
  spent_at: number | null
}

export interface TicketsTable {
  hash: string
  uid: number
  pincode: string
  source: string
  created_at: number
  expires_at: number
  spent_at: number | null
}

export interface RateEventsTable {
  id: Generated<number>
  bucket: string
  at: number
}

export interface OutboxTable {
  id: Generated<number>
  account: string
  kind: 'email_code' | 'sms_code'
  code: string
  created_at: number
}

export interface ServerSecretsTable {
  name: string
  value: string
}

export interface SlicerResourcesTable {
  id: Generated<number>
  /** `software` for the slicer itself, else e.g. `slicer/plugins/cloud`. */
  type: string
  version: string
  description: string
  url: string
  force_update: number
  created_at: number
}

export interface Database {
  users: UsersTable
  logins: LoginsTable
  tokens: TokensTable
  login_codes: LoginCodesTable
  tfa_challenges: TfaChallengesTable
  tickets: TicketsTable
  rate_events: RateEventsTable
  outbox: OutboxTable
  server_secrets: ServerSecretsTable
  slicer_resources: SlicerResourcesTable
}

export type UserRow = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
