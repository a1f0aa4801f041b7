/** The part of autocannon's API the bench uses (it ships no types of its own). */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  export interface Options {
    url: string
    connections?: number
    /** Seconds. */
    duration?: number
    headers?: Record<string, string>
    /** Seconds. */
    timeout?: number
  }

  export interface Result {
    requests: { average: number; total: number }
    latency: { p50: number; p99: number; max: number }
    non2xx: number
    errors: number
    timeouts: number
    /** Seconds. */
    duration: number
  }

  export interface Instance extends EventEmitter {
    stop(): void
  }

  function autocannon(options: Options, done: (err: Error | null, result: Result) => void): Instance
  export default autocannon
}
