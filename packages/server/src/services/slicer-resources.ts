/**
 * The catalog of what slicers download: the newest `software` entry and plugin packages.
 * Slicers ask "anything newer than the version I have?" per resource type.
 */
import type { ServiceContext } from '../context.ts'
import type { SlicerResourcesTable } from '../db/schema.ts'
import type { Selectable } from 'kysely'
import { ApiError } from '../errors.ts'
import { compareVersions } from '@bambu-cloud/protocol'

type Row = Selectable<SlicerResourcesTable>

export interface NewSlicerResource {
  type: string
  version: string
  url: string
  description?: string | undefined
  force_update?: boolean | undefined
}

export class SlicerResourceService {
  constructor(private readonly ctx: ServiceContext) {}

  async add(input: NewSlicerResource): Promise<Row> {
    const row = await this.ctx.database.db
      .insertInto('slicer_resources')
      .values({
        type: input.type,
        version: input.version,
        url: input.url,
        description: input.description ?? '',
        force_update: input.force_update ? 1 : 0,
        created_at: this.ctx.now(),
      })
      .onConflict((oc) => oc.columns(['type', 'version']).doNothing())
      .returningAll()
      .executeTakeFirst()
    if (!row) throw new ApiError('conflict', `${input.type} ${input.version} already exists`)
    return row
  }

  /**
   * The newest entry per type. With `installed` (type -> version), only the types named
   * there, and only when newer than the installed version.
   */
  async newest(installed?: Map<string, string>): Promise<{ software: Row | null; resources: Row[] }> {
    const rows = await this.ctx.database.db.selectFrom('slicer_resources').selectAll().execute()
    const best = new Map<string, Row>()
    for (const row of rows) {
      const current = best.get(row.type)
      if (!current || compareVersions(row.version, current.version) > 0) best.set(row.type, row)
    }
    const software = best.get('software') ?? null
    best.delete('software')
    let resources = [...best.values()].sort((a, b) => a.type.localeCompare(b.type))
    if (installed && installed.size > 0) {
      resources = resources.filter((r) => {
        const have = installed.get(r.type)
        return have !== undefined && compareVersions(r.version, have) > 0
      })
    }
    return { software, resources }
  }
}
