/**
 * `cloud.user`: who you are (user-service profile, design-user-service preference), your
 * print history (`my/tasks`, `my/task`) and your messages (`my/messages`), with async
 * iterators that page through a list by its `after` cursor.
 */
import type { MessagesQuery, Preference, Profile, TasksQuery } from '@bambu-cloud/protocol'
import { path } from '../core/path.ts'
import { APIResource } from '../core/resource.ts'
import type { RequestOptions } from '../core/transport.ts'
import type { BambuCloud } from '../client.ts'
import type { CreatedTask, CreateTaskRequest, MessageHit, MessagesPage, TaskHit, TasksPage } from '../types.ts'

const MY = '/v1/user-service/my'
const DEFAULT_PAGE_SIZE = 100

export class User extends APIResource {
  /** The print history, `GET my/tasks`. */
  readonly tasks: Tasks
  /** Messages, `GET my/messages`. */
  readonly messages: Messages

  constructor(client: BambuCloud) {
    super(client)
    this.tasks = new Tasks(client)
    this.messages = new Messages(client)
  }

  /**
   * Your profile (`GET my/profile`).
   *
   * @example
   * const { uid, account, name } = await cloud.user.profile()
   */
  profile(options?: RequestOptions): Promise<Profile> {
    return this.client.request({ method: 'GET', path: `${MY}/profile` }, options)
  }

  /**
   * Your public identity (`GET /v1/design-user-service/my/preference`); the MQTT user name is `u_<uid>`.
   *
   * @example
   * const { uid } = await cloud.user.preference()
   * const mqttUser = `u_${uid}`
   */
  preference(options?: RequestOptions): Promise<Preference> {
    return this.client.request({ method: 'GET', path: '/v1/design-user-service/my/preference' }, options)
  }

  /**
   * One task of yours (`GET my/task/{id}`).
   *
   * @example
   * const task = await cloud.user.task(1234)
   */
  task(id: number, options?: RequestOptions): Promise<TaskHit> {
    return this.client.request({ method: 'GET', path: path`/v1/user-service/my/task/${id}` }, options)
  }

  /**
   * Records a task on one of your printers (`POST my/task`), as a slicer does before printing.
   *
   * @example
   * const { id } = await cloud.user.createTask({ deviceId: '01P00A000000001', title: 'Benchy' })
   */
  createTask(body: CreateTaskRequest, options?: RequestOptions): Promise<CreatedTask> {
    return this.client.request({ method: 'POST', path: `${MY}/task`, body }, options)
  }
}

export class Tasks extends APIResource {
  /**
   * One page of the print history, newest first (`GET my/tasks`).
   *
   * @example
   * const { total, hits } = await cloud.user.tasks.list({ deviceId: '01P00A000000001', limit: 10 })
   */
  list(query: TasksQuery = {}, options?: RequestOptions): Promise<TasksPage> {
    return this.client.request({ method: 'GET', path: `${MY}/tasks`, query: { ...query } }, options)
  }

  /**
   * Every task, newest first, fetching `pageSize` at a time with the `after` cursor.
   *
   * @example
   * for await (const task of cloud.user.tasks.iterate({ deviceId: '01P00A000000001' })) console.log(task.title)
   */
  async *iterate(query: { deviceId?: string; status?: number; pageSize?: number } = {}, options?: RequestOptions): AsyncGenerator<TaskHit, void, undefined> {
    const { pageSize = DEFAULT_PAGE_SIZE, ...filter } = query
    yield* pages((after) => this.list({ ...filter, limit: pageSize, after }, options))
  }
}

export class Messages extends APIResource {
  /**
   * One page of messages, newest first (`GET my/messages`); type 6 is a finished or failed print.
   *
   * @example
   * const { hits } = await cloud.user.messages.list({ type: 6, limit: 10 })
   */
  list(query: MessagesQuery = {}, options?: RequestOptions): Promise<MessagesPage> {
    return this.client.request({ method: 'GET', path: `${MY}/messages`, query: { ...query } }, options)
  }

  /**
   * Every message, newest first, `pageSize` at a time.
   *
   * @example
   * for await (const message of cloud.user.messages.iterate({ type: 6 })) console.log(message.taskMessage?.title)
   */
  async *iterate(query: { type?: number; pageSize?: number } = {}, options?: RequestOptions): AsyncGenerator<MessageHit, void, undefined> {
    const { pageSize = DEFAULT_PAGE_SIZE, ...filter } = query
    yield* pages((after) => this.list({ ...filter, limit: pageSize, after }, options))
  }
}

/**
 * Walks a newest-first list: each page continues after the last id of the one before.
 * Stops at an empty page, once `total` (when the list has one) hits were seen, or if the
 * server does not move the cursor on.
 */
async function* pages<H extends { id: number }>(fetchPage: (after: number | undefined) => Promise<{ hits: H[]; total?: number }>): AsyncGenerator<H, void, undefined> {
  let after: number | undefined
  let seen = 0
  for (;;) {
    const page = await fetchPage(after)
    const last = page.hits.at(-1)
    if (last === undefined) return
    yield* page.hits
    seen += page.hits.length
    if ((page.total !== undefined && seen >= page.total) || (after !== undefined && last.id >= after)) return
    after = last.id
  }
}
