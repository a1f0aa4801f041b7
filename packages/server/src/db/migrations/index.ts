/**
 * The versioned migrations, in order. Each is a module with `up(db, context)`; the
 * context tells the dialect for the few statements that differ.
 */
import type { CreateTableBuilder, Kysely } from 'kysely'
import * as m0001 from './0001_accounts.ts'
import * as m0002 from './0002_slicer_resources.ts'
import * as m0003 from './0003_devices_tasks.ts'
import * as m0004 from './0004_slicer_settings.ts'
import * as m0005 from './0005_projects.ts'
import * as m0006 from './0006_device_live.ts'
import * as m0007 from './0007_uploads.ts'
import * as m0008 from './0008_lan_bridge.ts'
import * as m0009 from './0009_upload_claims.ts'

export interface MigrationContext {
  /** Frozen here, like the migrations: the databases they were written for. */
  dialect: 'sqlite' | 'postgres'
  /** Adds an auto-incrementing integer primary key that grows over time. */
  serialPk: <T extends string>(table: CreateTableBuilder<T, never>, column: string) => CreateTableBuilder<T, any>
}

export interface Migration {
  up(db: Kysely<any>, context: MigrationContext): Promise<void>
}

/** Name -> migration, in the order they apply. Names never change once released. */
export const MIGRATIONS: ReadonlyArray<readonly [string, Migration]> = [
  ['0001_accounts', m0001],
  ['0002_slicer_resources', m0002],
  ['0003_devices_tasks', m0003],
  ['0004_slicer_settings', m0004],
  ['0005_projects', m0005],
  ['0006_device_live', m0006],
  ['0007_uploads', m0007],
  ['0008_lan_bridge', m0008],
  ['0009_upload_claims', m0009],
]

/** The name of the newest migration: the database is current when it has run. */
export const LATEST_MIGRATION = MIGRATIONS.at(-1)![0]

export function migrationContext(dialect: MigrationContext['dialect']): MigrationContext {
  return {
    dialect,
    serialPk: (table, column) =>
      dialect === 'sqlite'
        ? table.addColumn(column, 'integer', (c) => c.primaryKey().autoIncrement())
        : table.addColumn(column, 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity()),
  }
}
