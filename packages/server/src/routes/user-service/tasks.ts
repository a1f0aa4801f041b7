/** user-service tasks: the print history, one task, and creating one (as Studio does before printing). */
import { CreateTaskReply, CreateTaskRequest, ErrorBodySchema, IdParams, TaskHit, TasksQuery, TasksReply } from '@bambu-cloud/protocol'
import { principalOf, type App } from '../../http/types.ts'

const tags = ['user-service: tasks']

export default async function taskRoutes(app: App) {
  const { tasks, devices, projects, printFiles } = app.services

  app.get(
    '/v1/user-service/my/tasks',
    {
      schema: {
        tags,
        summary: 'Print history, newest first',
        description: '`limit` (20; over 500 is 500), `offset`, `after` (a task id: the hits after it), `deviceId`, `status` (0 = all).',
        querystring: TasksQuery,
        response: { 200: TasksReply },
      },
    },
    async (request) => {
      const q = request.query
      return tasks.list(principalOf(request).uid, { deviceId: q.deviceId, status: q.status }, q)
    },
  )

  app.post(
    '/v1/user-service/my/task',
    { schema: { tags, summary: 'Create a task on one of the caller’s printers', body: CreateTaskRequest, response: { 200: CreateTaskReply, 403: ErrorBodySchema } } },
    async (request) => {
      const uid = principalOf(request).uid
      const { body } = request
      const device = await devices.owned(uid, body.deviceId)
      // A task naming a plate of one of the caller's projects takes its facts from that plate.
      const profileId = Number(body.profileId ?? 0)
      const estimate =
        body.modelId && profileId > 0 && body.plateIndex !== undefined
          ? await projects.findPlate(uid, body.modelId, profileId, body.plateIndex)
          : null
      // Its bed type, and its thumbnail when the project's own upload had none, come from the plate's 3MF.
      const details = estimate && (await printFiles.plateDetails(uid, body.modelId!, profileId, body.plateIndex!))
      const plate = estimate && details && { ...estimate, cover: estimate.cover ?? details.cover, bedType: details.bedType }
      const row = await tasks.create(app.database.db, uid, body, device, plate)
      return { id: row.id }
    },
  )

  app.get(
    '/v1/user-service/my/task/:id',
    { schema: { tags, summary: 'One task of the caller', params: IdParams, response: { 200: TaskHit, 403: ErrorBodySchema } } },
    async (request) => tasks.hit(await tasks.ownedOrForbidden(principalOf(request).uid, request.params.id)),
  )
}
