/** iot-service `user/task/{id}`: a task in the project-file vocabulary. */
import { ErrorBodySchema, IdParams, IotTaskReply } from '@bambu-cloud/protocol'
import { principalOf, type App } from '../../http/types.ts'
import { parseObject } from '../../lib/json.ts'
import { sqlTime } from '../../lib/time.ts'

export default async function iotTaskRoutes(app: App) {
  app.get(
    '/v1/iot-service/api/user/task/:id',
    {
      schema: {
        tags: ['iot-service: tasks'],
        summary: 'A task of the caller (403 code 8 otherwise)',
        params: IdParams,
        response: { 200: IotTaskReply, 403: ErrorBodySchema },
      },
    },
    async (request) => {
      const task = await app.services.tasks.ownedOrForbidden(principalOf(request).uid, request.params.id)
      const extra = parseObject(task.extra)
      return {
        message: 'success' as const,
        code: null,
        error: null,
        parent: null,
        model_id: task.model_id,
        project_id: typeof extra.projectId === 'string' || typeof extra.projectId === 'number' ? String(extra.projectId) : null,
        profile_id: String(task.profile_id),
        status: task.status,
        name: task.title,
        content: null,
        context: null,
        create_time: sqlTime(task.created_at),
        update_time: sqlTime(task.updated_at),
        sub_task: null,
        subtask: null,
        est: null,
        url: null,
        md5: null,
      }
    },
  )
}
