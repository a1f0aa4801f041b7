/** The bench's markdown report: one row per endpoint and dataset, then the run-wide checks. */
import type { LoadResult } from './procs.ts'

export const TARGETS = {
  /** Ours at least this share of the bare server's req/s. */
  ratio: 0.5,
  /** p99 under this at 50 connections, ms. */
  p99Ms: 20,
  /** my/tasks p99 at the large dataset at most this times the small one. */
  growth: 2,
  /** Server peak RSS, bytes. */
  rss: 200 * 1024 * 1024,
}

export interface Row {
  endpoint: string
  tasks: number
  ours: LoadResult & { serverCpu: number; otherCpu: number }
  bare: LoadResult & { serverCpu: number; otherCpu: number }
}

export interface RunInfo {
  database: string
  node: string
  cpu: string
  pinning: string
  connections: number
  duration: number
  warmup: number
  seeding: { tasks: number; seconds: number }[]
  rss: { tasks: number; bytes: number }[]
  quick: boolean
}

const ms = (v: number) => v.toFixed(2)
const rps = (v: number) => Math.round(v).toLocaleString('en-US')
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`
export const size = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n))
const verdict = (misses: string[]) => (misses.length === 0 ? 'pass' : `**MISS**: ${misses.join('; ')}`)

function rowMisses(r: Row): string[] {
  const misses: string[] = []
  const ratio = r.ours.requestsPerSecond / r.bare.requestsPerSecond
  if (ratio < TARGETS.ratio) misses.push(`req/s ${(ratio * 100).toFixed(0)}% of bare < ${TARGETS.ratio * 100}%`)
  if (r.ours.p99 >= TARGETS.p99Ms) misses.push(`p99 ${ms(r.ours.p99)} ms >= ${TARGETS.p99Ms} ms`)
  for (const [who, res] of [['ours', r.ours], ['bare', r.bare]] as const) {
    if (res.non2xx || res.errors || res.timeouts) misses.push(`${who}: ${res.non2xx} non-2xx, ${res.errors} errors, ${res.timeouts} timeouts (invalid run)`)
  }
  return misses
}

export function renderReport(info: RunInfo, rows: Row[], growth: { small: Row; large: Row } | undefined): { text: string; misses: number } {
  let misses = 0
  const out: string[] = []
  out.push(`# bambu-cloud bench${info.quick ? ' (BENCH_QUICK: small sizes, not the real targets)' : ''}`, '')
  out.push(`- Database: ${info.database}`)
  out.push(`- Node: ${info.node}`)
  out.push(`- CPU: ${info.cpu}`)
  out.push(`- Pinning: ${info.pinning}`)
  out.push(`- Load: autocannon, ${info.connections} connections, ${info.warmup} s warm-up + ${info.duration} s measured per row and server, Bearer token`)
  out.push(`- Seeding: ${info.seeding.map((s) => `${size(s.tasks)} tasks in ${s.seconds.toFixed(1)} s`).join(', ')} (cumulative top-ups)`)
  out.push('')
  out.push('| endpoint | dataset | req/s | p50 ms | p99 ms | bare req/s | bare p50 | bare p99 | ratio | result |')
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
  for (const r of rows) {
    const m = rowMisses(r)
    misses += m.length
    const ratio = r.ours.requestsPerSecond / r.bare.requestsPerSecond
    out.push(
      `| ${r.endpoint} | ${size(r.tasks)} tasks | ${rps(r.ours.requestsPerSecond)} | ${ms(r.ours.p50)} | ${ms(r.ours.p99)} | ${rps(r.bare.requestsPerSecond)} | ${ms(r.bare.p50)} | ${ms(r.bare.p99)} | ${ratio.toFixed(2)} | ${verdict(m)} |`,
    )
  }
  const genBound = rows.filter((r) => r.bare.loadCpu >= 0.9 && r.bare.serverCpu < 0.9)
  if (genBound.length > 0) {
    out.push('')
    out.push(
      `Note: in ${genBound.length} of ${rows.length} rows the bare server had CPU to spare while its load generator was saturated: its req/s there is a lower bound, and the real ratio lower still.`,
    )
  }
  out.push('')
  out.push('| check | measured | target | result |')
  out.push('| --- | --- | --- | --- |')
  if (growth) {
    const k = growth.large.ours.p99 / growth.small.ours.p99
    const m = k > TARGETS.growth ? [`${k.toFixed(2)}x`] : []
    misses += m.length
    out.push(
      `| my/tasks p99 at ${size(growth.large.tasks)} vs ${size(growth.small.tasks)} | ${ms(growth.large.ours.p99)} ms vs ${ms(growth.small.ours.p99)} ms (${k.toFixed(2)}x) | <= ${TARGETS.growth}x | ${verdict(m)} |`,
    )
  }
  const peak = Math.max(...info.rss.map((r) => r.bytes))
  const rssMiss = peak >= TARGETS.rss ? [mb(peak)] : []
  misses += rssMiss.length
  out.push(`| server peak RSS (VmHWM) | ${info.rss.map((r) => `${mb(r.bytes)} at ${size(r.tasks)}`).join(', ')} | < ${mb(TARGETS.rss)} | ${verdict(rssMiss)} |`)
  out.push('')
  out.push('CPU while measuring, in CPU-seconds per second (1.00 = one core saturated; "other" = the rest of the machine, PostgreSQL included):', '')
  out.push('| endpoint | dataset | server | load gen | other | bare server | load gen | other |')
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  const cpu = (v: number) => v.toFixed(2)
  for (const r of rows) {
    out.push(
      `| ${r.endpoint} | ${size(r.tasks)} | ${cpu(r.ours.serverCpu)} | ${cpu(r.ours.loadCpu)} | ${cpu(r.ours.otherCpu)} | ${cpu(r.bare.serverCpu)} | ${cpu(r.bare.loadCpu)} | ${cpu(r.bare.otherCpu)} |`,
    )
  }
  out.push('')
  out.push(misses === 0 ? 'All targets met.' : `**${misses} target miss${misses === 1 ? '' : 'es'}** (marked above).`)
  return { text: out.join('\n'), misses }
}
