/**
 * `projects`: your cloud projects, newest first.
 *
 * @example
 * bambu-cloud projects
 * bambu-cloud projects --json     # the `projects` array of user/project
 */
import type { Command } from 'commander'
import { connectionOptions, withContext, type Context } from '../context.ts'

export function registerProjectsCommand(program: Command): void {
  connectionOptions(program.command('projects'))
    .description('your cloud projects, newest first')
    .action(withContext(projects))
}

async function projects(ctx: Context): Promise<void> {
  const list = await ctx.cloud().projects.list()
  if (ctx.out.json) return ctx.out.printJson(list)
  ctx.out.table(
    list,
    [
      { header: 'PROJECT_ID', value: (p) => p.project_id, align: 'right' },
      { header: 'MODEL_ID', value: (p) => p.model_id },
      // Wire times are already UTC `YYYY-MM-DD HH:MM:SS`.
      { header: 'UPDATED', value: (p) => p.update_time },
      { header: 'NAME', value: (p) => p.name },
    ],
    'no projects',
  )
}
