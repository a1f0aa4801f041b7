/** Public images the API links to: the cover of a task whose plate thumbnail is unknown. */
import { encodePng } from '../../lib/png.ts'
import type { App } from '../../http/types.ts'

/** A light plate with a darker frame and a brand-green bar: clearly a placeholder. */
const TASK_COVER = encodePng(256, 256, (x, y) => {
  const edge = x < 8 || y < 8 || x > 247 || y > 247
  const bar = y > 180 && y < 196 && x > 48 && x < 208
  return edge ? [200, 203, 208] : bar ? [0, 174, 66] : [238, 240, 243]
})

export default async function assetRoutes(app: App) {
  app.get('/assets/task-cover.png', { config: { auth: 'none' }, schema: { hide: true } }, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=86400').type('image/png').send(TASK_COVER),
  )
}
