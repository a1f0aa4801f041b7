/**
 * `projects`: your cloud projects, newest first; `projects show ID`: one project with its
 * plates; `projects upload FILE`: a 3MF uploaded the way Bambu Studio does it (progress
 * bar on a terminal).
 *
 * @example
 * bambu-cloud projects
 * bambu-cloud projects upload Bracket.3mf --name Bracket
 * bambu-cloud projects show 10000001 --json     # exactly what user/project/{id} answers
 */
import fs from 'node:fs'
import path from 'node:path'
import type { ProjectDetail, UploadProgress } from '@bambu-cloud/client'
import { InvalidArgumentError, type Command } from 'commander'
import { connectionOptions, withContext, type Context } from '../context.ts'
import { UsageError } from '../errors.ts'
import { duration } from '../format.ts'

export function registerProjectsCommand(program: Command): void {
  const projects = connectionOptions(program.command('projects'))
    .description('your cloud projects, newest first (see also: projects show, projects upload)')
    .action(withContext(list))
  connectionOptions(projects.command('show'))
    .description('one project: its profiles, and per plate the time, weight, filaments and whether it is sliced')
    .argument('<id>', 'the project_id')
    .action(withContext(show))
  connectionOptions(projects.command('upload'))
    .description('upload a 3MF as Bambu Studio does: project, file, processing, print-ready plates')
    .argument('<file>', 'the .3mf file')
    .option('--name <name>', 'the project name (default: the file name without .3mf)')
    .option('--plates <list>', 'plates to send print-ready files for, e.g. 1,3, or "none" (default: every sliced plate)', plateList)
    .action(withContext(upload))
}

function plateList(text: string): number[] {
  if (text === 'none') return []
  const plates = text.split(',').map((p) => Number(p.trim()))
  if (plates.some((p) => !Number.isInteger(p) || p < 1)) throw new InvalidArgumentError('expected plate numbers like 1,3, or "none"')
  return plates
}

async function list(ctx: Context): Promise<void> {
  const projects = await ctx.cloud().projects.list()
  if (ctx.out.json) return ctx.out.printJson(projects)
  ctx.out.table(
    projects,
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

async function show(ctx: Context, [id]: string[]): Promise<void> {
  if (!/^\d{1,16}$/.test(id!)) throw new UsageError(`not a project id: ${id}`)
  const project = await ctx.cloud().projects.get(id!)
  if (ctx.out.json) return ctx.out.printJson(project)
  describe(ctx, project)
}

interface Plate {
  index: number
  prediction: number
  weight: number
  gcode: { name: string | null }
  filaments: { type: string; color: string; used_g: string }[]
}

function describe(ctx: Context, project: ProjectDetail): void {
  const { out } = ctx
  out.fields([
    ['Project', project.project_id],
    ['Name', project.name],
    ['Model', project.model_id],
    ['Updated', project.update_time],
    ['MD5', project.download_md5 ?? '-'],
  ])
  for (const profile of project.profiles) {
    const context = profile.context as { compatibility?: { dev_product_name?: string; nozzle_diameter?: number }; plates?: Plate[] }
    const printer = context.compatibility?.dev_product_name
    out.write(`\n${out.style.bold(`Profile ${profile.profile_id}`)}${printer ? ` (${printer}, ${context.compatibility?.nozzle_diameter} mm)` : ''}\n`)
    out.table(
      context.plates ?? [],
      [
        { header: 'PLATE', value: (p) => String(p.index), align: 'right' },
        { header: 'TIME', value: (p) => duration(p.prediction), align: 'right' },
        { header: 'WEIGHT', value: (p) => `${p.weight} g`, align: 'right' },
        { header: 'SLICED', value: (p) => (p.gcode.name ? 'yes' : 'no') },
        { header: 'FILAMENTS', value: (p) => p.filaments.map((f) => `${f.type} ${f.color} ${f.used_g} g`).join(', ') || '-' },
      ],
      'no plates',
    )
  }
}

async function upload(ctx: Context, [file]: string[]): Promise<void> {
  const options = ctx.opts<{ name?: string; plates?: number[] }>()
  let blob: Blob
  try {
    if (!fs.statSync(file!).isFile()) throw new Error('not a file')
    // Read from disk as it is sent: a large 3MF is never held in memory.
    blob = await fs.openAsBlob(file!)
  } catch {
    throw new UsageError(`cannot read ${file}`)
  }
  const fileName = path.basename(file!)
  const name = options.name ?? fileName.replace(/\.3mf$/i, '')
  const bar = ctx.out.tty && !ctx.out.json ? new ProgressLine(ctx) : null
  const result = await ctx.cloud().projects.upload(blob, {
    name,
    fileName,
    plates: options.plates,
    onProgress: bar ? (p) => bar.update(p) : undefined,
  })
  bar?.done()
  if (ctx.out.json) return ctx.out.printJson(result)
  ctx.out.fields([
    ['Project', result.project_id],
    ['Model', result.model_id],
    ['Profile', result.profile_id],
    ['Plates', result.plates.length ? result.plates.join(', ') : '-'],
    ['MD5', result.project.download_md5 ?? '-'],
  ])
}

const STAGES: Record<UploadProgress['stage'], string> = {
  create: 'creating the project',
  upload: 'uploading',
  process: 'processing',
  plate: 'print-ready plate',
  done: 'done',
}

/** One line redrawn in place while the upload runs (only on a terminal). */
class ProgressLine {
  private last = ''

  constructor(private readonly ctx: Context) {}

  update(p: UploadProgress): void {
    const label = p.stage === 'plate' ? `${STAGES.plate} ${p.plate}` : STAGES[p.stage]
    const bytes = p.total > 0 ? `${this.ctx.out.progress((p.loaded / p.total) * 100)} ${mib(p.loaded)}/${mib(p.total)}` : ''
    const line = `${label.padEnd(22)} ${bytes}`.trimEnd()
    if (line === this.last) return
    this.last = line
    this.ctx.out.write(`\r\x1b[2K${line}`)
  }

  done(): void {
    this.ctx.out.write('\r\x1b[2K')
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MiB`
}
