/**
 * What clients poll, kept beside the merged state: `user/bind` and `user/print` then read a
 * few small columns instead of each device's kilobytes of report JSON. Task counts gain a
 * per-user row for all devices, so `total` without a device filter reads a handful of rows.
 *
 * The backfill derives the columns with a frozen copy of the rules of its day (below), so
 * this migration means the same thing however the device-state service changes later.
 */
import { sql, type Kysely } from 'kysely'
import type { MigrationContext } from './index.ts'

/** The `device_id` of the per-user row that counts tasks across all devices. */
const ALL_DEVICES = '*'

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function printOfState(state: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(state)
    return isObject(parsed) && isObject(parsed.print) ? parsed.print : {}
  } catch {
    return {}
  }
}

function printStatusOf(gcodeState: unknown): string {
  switch (gcodeState) {
    case 'PREPARE':
    case 'SLICING':
    case 'RUNNING':
      return 'RUNNING'
    case 'PAUSE':
      return 'PAUSE'
    case 'FINISH':
      return 'SUCCESS'
    case 'FAILED':
      return 'FAILED'
    default:
      return 'IDLE'
  }
}

function finite(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : typeof value === 'number' ? value : NaN
  return Number.isFinite(n) ? n : null
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : ''
}

/** The live columns of one device, from its state's JSON text. */
function liveFacts(state: string) {
  const print = printOfState(state)
  const percent = finite(print.mc_percent)
  return {
    print_status: printStatusOf(print.gcode_state),
    progress: percent === null ? null : Math.max(0, Math.min(100, Math.round(percent))),
    remaining_minutes: finite(print.mc_remaining_time),
    live_project_id: text(print.project_id),
  }
}

export async function up(db: Kysely<any>, _context: MigrationContext): Promise<void> {
  await db.schema.alterTable('devices').addColumn('print_status', 'text', (c) => c.notNull().defaultTo('IDLE')).execute()
  await db.schema.alterTable('devices').addColumn('progress', 'integer').execute()
  await db.schema.alterTable('devices').addColumn('remaining_minutes', 'double precision').execute()
  await db.schema.alterTable('devices').addColumn('live_project_id', 'text', (c) => c.notNull().defaultTo('')).execute()
  const devices = await db.selectFrom('devices').select(['dev_id', 'state']).execute()
  for (const d of devices as { dev_id: string; state: string }[]) {
    await db.updateTable('devices').set(liveFacts(d.state)).where('dev_id', '=', d.dev_id).execute()
  }
  await sql`insert into task_counts (uid, device_id, status, n)
    select uid, ${ALL_DEVICES}, status, sum(n) from task_counts group by uid, status`.execute(db)
}
