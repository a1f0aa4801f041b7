/** The caller's messages: so far, the type-6 notice each finished or failed print yields. */
import type { ServiceContext } from '../context.ts'
import { isoUtc } from '../lib/time.ts'
import { DEFAULT_PAGE, MAX_PAGE, type Page, type TaskService } from './tasks.ts'

export class MessageService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly tasks: TaskService,
  ) {}

  /** Newest first, with the same `after`/`offset`/`limit` rules as tasks. */
  async list(uid: number, type: number | undefined, page: Page) {
    const { db } = this.ctx.database
    const limit = Math.min(page.limit ?? DEFAULT_PAGE, MAX_PAGE)
    let q = db
      .selectFrom('messages as m')
      .leftJoin('tasks as t', 't.id', 'm.task_id')
      .select(['m.id', 'm.type', 'm.created_at', 't.id as task_id', 't.title', 't.cover', 't.status', 't.device_id', 't.fail_reason'])
      .where('m.uid', '=', uid)
    if (type) q = q.where('m.type', '=', type)
    if (page.after !== undefined && page.after > 0) q = q.where('m.id', '<', page.after)
    const [rows, user] = await Promise.all([
      limit === 0 ? Promise.resolve([]) : q.orderBy('m.id', 'desc').limit(limit).offset(page.offset ?? 0).execute(),
      db.selectFrom('users').select(['uid', 'name', 'avatar']).where('uid', '=', uid).executeTakeFirst(),
    ])
    const from = {
      uid,
      name: user?.name ?? '',
      avatar: user?.avatar ?? '',
      fanCount: 0,
      followCount: 0,
      likeCount: 0,
      isFollowed: false,
    }
    return {
      hits: rows.map((r) => ({
        id: r.id,
        type: r.type,
        design: null,
        comment: null,
        taskMessage:
          r.task_id === null
            ? null
            : {
                id: r.task_id,
                title: r.title ?? '',
                cover: r.cover ?? this.tasks.placeholderCover,
                status: r.status ?? 0,
                deviceId: r.device_id ?? '',
                ...(r.fail_reason ? { failedReason: r.fail_reason } : {}),
              },
        from,
        createTime: isoUtc(r.created_at),
      })),
    }
  }
}
