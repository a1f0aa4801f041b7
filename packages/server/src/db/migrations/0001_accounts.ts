/** Accounts, logins and their tokens, login codes, TFA challenges, tickets, rate events, outbox. */
import { sql, type Kysely } from 'kysely'
import type { MigrationContext } from './index.ts'

/** The first uid handed out: ten digits like the real cloud's, far below 2^32. */
export const FIRST_UID = 1_000_000_001

export async function up(db: Kysely<any>, { dialect, serialPk }: MigrationContext): Promise<void> {
  await serialPk(db.schema.createTable('users'), 'uid')
    .addColumn('account', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('avatar', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('handle', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('bio', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('login_policy', 'text', (c) => c.notNull().defaultTo('password'))
    .addColumn('tfa_secret', 'text')
    .addColumn('tfa_last_step', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  if (dialect === 'sqlite') {
    await sql`insert into sqlite_sequence (name, seq) values ('users', ${FIRST_UID - 1})`.execute(db)
  } else {
    await sql`alter table users alter column uid restart with ${sql.lit(FIRST_UID)}`.execute(db)
  }

  await db.schema
    .createTable('logins')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('uid', 'bigint', (c) => c.notNull().references('users.uid').onDelete('cascade'))
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute()
  await db.schema.createIndex('logins_uid').on('logins').column('uid').execute()

  await db.schema
    .createTable('tokens')
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('login_id', 'text', (c) => c.notNull().references('logins.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('tokens_login').on('tokens').column('login_id').execute()

  await serialPk(db.schema.createTable('login_codes'), 'id')
    .addColumn('uid', 'bigint', (c) => c.notNull().references('users.uid').onDelete('cascade'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('spent_at', 'bigint')
    .execute()
  await db.schema.createIndex('login_codes_uid').on('login_codes').column('uid').execute()

  await db.schema
    .createTable('tfa_challenges')
    .addColumn('key_hash', 'text', (c) => c.primaryKey())
    .addColumn('uid', 'bigint', (c) => c.notNull().references('users.uid').onDelete('cascade'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('spent_at', 'bigint')
    .execute()

  await db.schema
    .createTable('tickets')
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('uid', 'bigint', (c) => c.notNull().references('users.uid').onDelete('cascade'))
    .addColumn('pincode', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('spent_at', 'bigint')
    .execute()

  await serialPk(db.schema.createTable('rate_events'), 'id')
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('rate_events_bucket_at').on('rate_events').columns(['bucket', 'at']).execute()

  await serialPk(db.schema.createTable('outbox'), 'id')
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('outbox_account').on('outbox').columns(['account', 'id']).execute()

  await db.schema
    .createTable('server_secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute()
}
