/**
 * Upload claims: a PUT to a signed upload URL takes the URL's claim before it writes a
 * byte, so concurrent PUTs to one URL are refused at once instead of each filling
 * staging. A claim counts against its user's storage quota at the length it announced
 * until the file is kept (then the file's row counts) or the write fails (then it goes).
 */
import type { Kysely } from 'kysely'
import type { MigrationContext } from './index.ts'

export async function up(db: Kysely<any>, _context: MigrationContext): Promise<void> {
  await db.schema
    .createTable('upload_claims')
    .addColumn('blob_key', 'text', (c) => c.primaryKey())
    // Random per claim: a PUT releases only its own claim, never a later one on the same URL.
    .addColumn('claim_id', 'text', (c) => c.notNull())
    .addColumn('uid', 'bigint', (c) => c.notNull().references('users.uid').onDelete('cascade'))
    // The announced Content-Length; 0 when none was (the quota is then enforced while streaming).
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('upload_claims_uid').on('upload_claims').column('uid').execute()
}
