/**
 * Your history: `tasks` (prints, newest first) and `messages`.
 *
 * @example
 * bambu-cloud tasks --device 01P00A000000001 --limit 5
 * bambu-cloud tasks --json                 # the `hits` of my/tasks
 * bambu-cloud messages --type 6            # finished and failed prints
 */
import type { MessageHit, TaskHit } from '@bambu-cloud/client'
import type { Command } from 'commander'
import { connectionOptions, integer, withContext, type Context } from '../context.ts'
import { duration, paintState, taskStatus, when } from '../format.ts'

interface TasksOptions {
  device?: string
  limit: number
  status?: number
}

interface MessagesOptions {
  limit: number
  type?: number
}

/** The server's largest page. */
const MAX_PAGE = 500

export function registerHistoryCommands(program: Command): void {
  connectionOptions(program.command('tasks'))
    .description('your print history, newest first')
    .option('--device <dev_id>', 'only this printer')
    .option('--status <n>', 'only this status (2 finished, 3 failed, 4 running)', integer(0))
    .option('--limit <n>', 'at most N tasks', integer(1), 20)
    .action(withContext(tasks))

  connectionOptions(program.command('messages'))
    .description('your messages, newest first (type 6: a print finished or failed)')
    .option('--type <n>', 'only this type', integer(0))
    .option('--limit <n>', 'at most N messages', integer(1), 20)
    .action(withContext(messages))
}

async function tasks(ctx: Context): Promise<void> {
  const options = ctx.opts<TasksOptions>()
  const hits: TaskHit[] = []
  // One page when the limit fits in one (the answer's `hits` exactly), more pages otherwise.
  for await (const task of ctx.cloud().user.tasks.iterate({ deviceId: options.device, status: options.status, pageSize: Math.min(options.limit, MAX_PAGE) })) {
    hits.push(task)
    if (hits.length >= options.limit) break
  }
  if (ctx.out.json) return ctx.out.printJson(hits)
  const { tty, style } = ctx.out
  ctx.out.table(
    hits,
    [
      { header: 'ID', value: (t) => String(t.id), align: 'right' },
      { header: 'STATUS', value: (t) => taskStatus(t.status), style: (t, text) => paintState(taskStatus(t.status), style)(text) },
      { header: 'STARTED', value: (t) => when(t.startTime, tty) },
      { header: 'TOOK', value: (t) => (t.status === 2 || t.status === 3 ? duration((Date.parse(t.endTime) - Date.parse(t.startTime)) / 1000) : '-'), align: 'right' },
      { header: 'DEVICE', value: (t) => t.deviceName || t.deviceId },
      { header: 'TITLE', value: (t) => t.title },
    ],
    'no tasks',
  )
}

async function messages(ctx: Context): Promise<void> {
  const options = ctx.opts<MessagesOptions>()
  const hits: MessageHit[] = []
  for await (const message of ctx.cloud().user.messages.iterate({ type: options.type, pageSize: Math.min(options.limit, MAX_PAGE) })) {
    hits.push(message)
    if (hits.length >= options.limit) break
  }
  if (ctx.out.json) return ctx.out.printJson(hits)
  const { tty } = ctx.out
  ctx.out.table(
    hits,
    [
      { header: 'ID', value: (m) => String(m.id), align: 'right' },
      { header: 'TYPE', value: (m) => String(m.type) },
      { header: 'TIME', value: (m) => when(m.createTime, tty) },
      { header: 'STATUS', value: (m) => (m.taskMessage ? taskStatus(m.taskMessage.status) : '-') },
      { header: 'DEVICE', value: (m) => m.taskMessage?.deviceId ?? '-' },
      { header: 'TITLE', value: (m) => m.taskMessage?.title ?? '-' },
    ],
    'no messages',
  )
}
