/**
 * Child processes of the bench: CPU pinning, the real server, the bare server, the load
 * generator; their CPU time and memory from /proc. Every child is tracked and killed when
 * the bench ends, however it ends.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

export const ROOT = path.resolve(import.meta.dirname, '..')
const MAIN = path.join(ROOT, 'packages/server/src/main.ts')

const children = new Set<ChildProcess>()

/** Kills every child still running (synchronous: usable from an `exit` handler). */
export function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  children.clear()
}

function track(child: ChildProcess): ChildProcess {
  children.add(child)
  child.on('exit', () => children.delete(child))
  return child
}

export interface Pinning {
  server: string[]
  load: string[]
  note: string
}

/** `taskset -c 0` for servers, `-c 1` for the load generator (and this process), when possible. */
export function pinning(): Pinning {
  const unpinned = (why: string): Pinning => ({ server: [], load: [], note: `unpinned (${why})` })
  if (os.availableParallelism() < 2) return unpinned('one CPU available')
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' })
    execFileSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' })
  } catch {
    return unpinned('taskset missing or CPUs 0/1 not allowed')
  }
  try {
    // The orchestrator (seeding, polling) stays off the server's CPU too.
    execFileSync('taskset', ['-a', '-c', '-p', '1', String(process.pid)], { stdio: 'ignore' })
  } catch {
    /* not fatal: it is idle while measuring */
  }
  return { server: ['taskset', '-c', '0'], load: ['taskset', '-c', '1'], note: 'server and bare server on CPU 0, load generator and orchestrator on CPU 1 (taskset)' }
}

function command(prefix: string[], args: string[]): [string, string[]] {
  return prefix.length ? [prefix[0]!, [...prefix.slice(1), ...args]] : [args[0]!, args.slice(1)]
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

export interface Proc {
  child: ChildProcess
  pid: number
  port: number
  output: () => string
  stop(): Promise<void>
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

function capture(child: ChildProcess): () => string {
  let out = ''
  const add = (c: Buffer) => {
    out += c.toString()
    if (out.length > 200_000) out = out.slice(-100_000)
  }
  child.stdout?.on('data', add)
  child.stderr?.on('data', add)
  return () => out
}

/** Starts main.ts as `npm start` does and waits until /healthz answers 200. */
export async function startServer(pin: string[], env: Record<string, string>, nodeArgs: string[] = []): Promise<Proc> {
  const port = await freePort()
  const [cmd, args] = command(pin, [process.execPath, ...nodeArgs, '--conditions=source', '--import', 'tsx', MAIN])
  const child = track(
    spawn(cmd, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
  const output = capture(child)
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited before it was ready:\n${output()}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`server not ready within 60 s:\n${output()}`)
    }
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status === 200,
      () => false,
    )
    if (ok) break
    await new Promise((r) => setTimeout(r, 100))
  }
  return { child, pid: child.pid!, port, output, stop: () => stopChild(child) }
}

export interface BareRoute {
  path: string
  headers: Record<string, string>
  body: Buffer
}

/** Starts bench/bare-server.ts answering each path with the recorded bytes. */
export async function startBare(pin: string[], routes: BareRoute[], dir: string): Promise<Proc> {
  const file = path.join(dir, `bare-routes-${Date.now()}.json`)
  fs.writeFileSync(file, JSON.stringify(routes.map((r) => ({ path: r.path, headers: r.headers, body: r.body.toString('base64') }))))
  const [cmd, args] = command(pin, [process.execPath, '--import', 'tsx', path.join(ROOT, 'bench/bare-server.ts'), file])
  // stdin stays open: the bare server exits when it closes, should this process die.
  const child = track(spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] }))
  const output = capture(child)
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bare server not ready:\n${output()}`)), 30_000)
    child.stdout!.on('data', () => {
      const m = /listening (\d+)/.exec(output())
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    child.once('exit', () => reject(new Error(`bare server exited:\n${output()}`)))
  })
  return { child, pid: child.pid!, port, output, stop: () => stopChild(child) }
}

export interface LoadConfig {
  url: string
  headers: Record<string, string>
  connections: number
  duration: number
  warmup: number
}

export interface LoadResult {
  requestsPerSecond: number
  p50: number
  p99: number
  max: number
  requests: number
  non2xx: number
  errors: number
  timeouts: number
  /** CPU seconds the load generator used per second while measuring. */
  loadCpu: number
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // After "(comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

/** CPU seconds the whole machine has been busy (all CPUs, from /proc/stat). */
export function machineBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLK_TCK
}

/** A size field of /proc/<pid>/status (`VmRSS`, `VmHWM`) in bytes; 0 once the process is gone. */
function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/** Peak resident set size (VmHWM) of a process, in bytes; 0 once it is gone. */
export function peakRss(pid: number): number {
  return statusBytes(pid, 'VmHWM')
}

/** Resident set size (VmRSS) of a process now, in bytes; 0 once it is gone. */
export function currentRss(pid: number): number {
  return statusBytes(pid, 'VmRSS')
}

/** Polls a process's peak RSS until stopped (VmHWM is kept by the kernel; polling catches it before exit). */
export function watchRss(pid: number): { stop(): number } {
  let peak = peakRss(pid)
  const timer = setInterval(() => (peak = Math.max(peak, peakRss(pid))), 250)
  return {
    stop() {
      clearInterval(timer)
      return Math.max(peak, peakRss(pid))
    },
  }
}

/**
 * Runs bench/load.ts (autocannon) in its own pinned process. `serverPid` is the process
 * under test: its CPU use is read while the measured (post-warm-up) part runs.
 */
export function runLoad(pin: string[], config: LoadConfig, serverPid: number): Promise<LoadResult & { serverCpu: number; otherCpu: number }> {
  const [cmd, args] = command(pin, [process.execPath, '--import', 'tsx', path.join(ROOT, 'bench/load.ts'), JSON.stringify(config)])
  const child = track(spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }))
  const output = capture(child)
  let cpuStart = 0
  let cpuEnd = 0
  let busyStart = 0
  let busyEnd = 0
  let t0 = 0
  let t1 = 0
  let buffered = ''
  child.stdout!.on('data', (c: Buffer) => {
    buffered += c.toString()
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (line === 'measure-start') {
        cpuStart = cpuSeconds(serverPid)
        busyStart = machineBusySeconds()
        t0 = performance.now()
      } else if (line === 'measure-end') {
        cpuEnd = cpuSeconds(serverPid)
        busyEnd = machineBusySeconds()
        t1 = performance.now()
      }
    }
  })
  const limit = (config.warmup + config.duration + 60) * 1000
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), limit)
    child.once('exit', (code) => {
      clearTimeout(timer)
      const m = /^result (.*)$/m.exec(output())
      if (code !== 0 || !m) return reject(new Error(`load generator failed (exit ${code}):\n${output()}`))
      const result = JSON.parse(m[1]!) as LoadResult
      const seconds = (t1 - t0) / 1000
      const serverCpu = seconds > 0 ? (cpuEnd - cpuStart) / seconds : 0
      // Everything else the machine did meanwhile: other processes (PostgreSQL's included).
      const otherCpu = seconds > 0 ? Math.max(0, (busyEnd - busyStart) / seconds - serverCpu - result.loadCpu) : 0
      resolve({ ...result, serverCpu, otherCpu })
    })
  })
}

/**
 * A bench stops by itself: `cleanup` runs on SIGINT or SIGTERM (then exit 130) and when the
 * run outlives `limitMs` (then exit 1). Returns the deadline's timer, to clear at the end.
 */
export function stopOnSignalOrDeadline(cleanup: () => Promise<void>, limitMs: number, log: (msg: string) => void): NodeJS.Timeout {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      log(`${signal}: stopping`)
      void cleanup().finally(() => process.exit(130))
    })
  }
  return setTimeout(() => {
    log('time limit reached: stopping')
    void cleanup().finally(() => process.exit(1))
  }, limitMs)
}
