/** Public images the API links to: the cover of a task whose plate thumbnail is unknown. */
import { readFileSync } from 'node:fs'
import type { App } from '../../http/types.ts'

/** A light plate with a darker frame and a brand-green bar: clearly a placeholder. Read once, at start. */
const TASK_COVER = readFileSync(new URL('../../../assets/task-cover.png', import.meta.url))

export default async function assetRoutes(app: App) {
  app.get('/assets/task-cover.png', { config: { auth: 'none' }, schema: { hide: true } }, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=86400').type('image/png').send(TASK_COVER),
  )
}
