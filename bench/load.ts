/**
 * The load generator, run in its own (pinned) process by bench/run.ts: autocannon against
 * one URL, a warm-up first, then the measured run. Prints `measure-start` / `measure-end`
 * around the measured part and one `result {json}` line. Latency percentiles are computed
 * here from every 2xx response time (autocannon's own histogram keeps whole milliseconds).
 */
import autocannon, { type Result } from 'autocannon'
import type { LoadConfig, LoadResult } from './procs.ts'

const config = JSON.parse(process.argv[2] ?? '') as LoadConfig

function fire(duration: number, latencies?: number[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url: config.url, connections: config.connections, duration, headers: config.headers, timeout: 10 },
      (err, result) => (err ? reject(err) : resolve(result)),
    )
    if (latencies) {
      instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
        if (status >= 200 && status < 300) latencies.push(ms)
      })
    }
  })
}

const percentile = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0

if (config.warmup > 0) await fire(config.warmup)
const latencies: number[] = []
process.stdout.write('measure-start\n')
const cpu = process.cpuUsage()
const started = performance.now()
const result = await fire(config.duration, latencies)
const elapsed = (performance.now() - started) / 1000
const used = process.cpuUsage(cpu)
process.stdout.write('measure-end\n')
const sorted = Float64Array.from(latencies).sort()
const out: LoadResult = {
  requestsPerSecond: result.requests.average,
  p50: percentile(sorted, 50),
  p99: percentile(sorted, 99),
  max: sorted.at(-1) ?? 0,
  requests: result.requests.total,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  loadCpu: (used.user + used.system) / 1e6 / elapsed,
}
process.stdout.write(`result ${JSON.stringify(out)}\n`)
