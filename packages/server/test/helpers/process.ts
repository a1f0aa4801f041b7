/** Runs the real server (`main.ts`) as a child process, as `npm start` does. */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'

const ROOT = path.resolve(import.meta.dirname, '../../../..')
const MAIN = path.join(ROOT, 'packages/server/src/main.ts')

export interface ServerProcess {
  child: ChildProcess
  port: number
  stdout: () => string
  stderr: () => string
  url: (p: string) => string
  /** Resolves with the exit code. */
  exited: Promise<number | null>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Starts the server and waits until it listens (PORT=0: the port is read from its log). */
export function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN], {
    cwd: ROOT,
    // Ephemeral ports throughout: test servers run side by side.
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', MQTT_TLS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not start in time\nstdout: ${out}\nstderr: ${err}`))
    }, 30_000)
    const check = () => {
      const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (!m) return
      clearTimeout(timer)
      child.stdout!.off('data', check)
      const port = Number(m[1])
      resolve({
        child,
        port,
        stdout: () => out,
        stderr: () => err,
        url: (p) => `http://127.0.0.1:${port}${p}`,
        exited,
        async stop(signal = 'SIGTERM') {
          if (child.exitCode === null) child.kill(signal)
          return exited
        },
      })
    }
    child.stdout!.on('data', check)
    exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code} before listening\nstdout: ${out}\nstderr: ${err}`))
    })
  })
}

/** Runs main.ts to completion (for starts that must fail). */
export function runServerToExit(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
