/**
 * Keys one per database (the JWT key, the file-link key), so every server process signs
 * alike. Created on first use and sealed at rest: a copy of the database alone signs
 * nothing. A plain key from an earlier version is sealed the first time it is read.
 */
import type { ServiceContext } from '../context.ts'
import { SecretBox } from '../lib/secret-box.ts'
import { randomToken } from '../lib/secrets.ts'

export async function serverSecret(ctx: ServiceContext, name: string): Promise<string> {
  const { db } = ctx.database
  await db
    .insertInto('server_secrets')
    .values({ name, value: ctx.secrets.seal(randomToken(48)) })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute()
  const row = await db.selectFrom('server_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow()
  const value = ctx.secrets.open(row.value)
  if (!SecretBox.isSealed(row.value)) {
    await db.updateTable('server_secrets').set({ value: ctx.secrets.seal(value) }).where('name', '=', name).where('value', '=', row.value).execute()
  }
  return value
}
