/**
 * `cloud.projects`: your cloud projects and their sliced profiles (iot-service
 * `user/project`, `user/profile`). Ids are decimal strings on the wire; numbers work too.
 */
import type { ProjectListItem } from '@bambu-cloud/protocol'
import { path } from '../core/path.ts'
import { APIResource } from '../core/resource.ts'
import type { RequestOptions } from '../core/transport.ts'
import type { ProjectDetail, ProjectProfileDetail } from '../types.ts'

export class Projects extends APIResource {
  /**
   * Your projects, newest first (`GET user/project`).
   *
   * @example
   * for (const p of await cloud.projects.list()) console.log(p.project_id, p.name)
   */
  async list(options?: RequestOptions): Promise<ProjectListItem[]> {
    const reply = await this.client.request<{ projects: ProjectListItem[] }>({ method: 'GET', path: '/v1/iot-service/api/user/project' }, options)
    return reply.projects
  }

  /**
   * One project with its profiles (`GET user/project/{id}`).
   *
   * @example
   * const { name, profiles } = await cloud.projects.get('123')
   */
  get(id: string | number, options?: RequestOptions): Promise<ProjectDetail> {
    return this.client.request({ method: 'GET', path: path`/v1/iot-service/api/user/project/${id}` }, options)
  }

  /**
   * One profile with the 3MF behind it (`GET user/profile/{id}`); given `modelId`, it must be the profile's.
   *
   * @example
   * const { context, url } = await cloud.projects.profile(profile.profile_id, profile.model_id)
   */
  profile(id: string | number, modelId?: string, options?: RequestOptions): Promise<ProjectProfileDetail> {
    return this.client.request(
      { method: 'GET', path: path`/v1/iot-service/api/user/profile/${id}`, query: { model_id: modelId } },
      options,
    )
  }
}
