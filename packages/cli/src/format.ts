/** Turning wire values into words for tables: durations, times, task states, print states. */
import type { Styles } from './output.ts'

/**
 * Seconds as `1h 05m`, `12m 30s` or `45s`; `-` when unknown.
 *
 * @example
 * duration(3900) // "1h 05m"
 */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '-'
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`
  if (m > 0) return `${m}m ${String(s % 60).padStart(2, '0')}s`
  return `${s}s`
}

/**
 * An ISO time as `YYYY-MM-DD HH:MM` in local time on a terminal; unchanged otherwise (scripts
 * get the exact value).
 */
export function when(iso: string | null | undefined, tty: boolean): string {
  if (!iso) return '-'
  if (!tty) return iso
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const two = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`
}

/** `my/tasks` status numbers. */
const TASK_STATUS: Record<number, string> = { 0: 'created', 2: 'finished', 3: 'failed', 4: 'running' }

export function taskStatus(status: number): string {
  return TASK_STATUS[status] ?? String(status)
}

/** Colours a printer or task state: running green, paused yellow, failed red, offline dim. */
export function paintState(state: string, style: Styles): (text: string) => string {
  switch (state.toUpperCase()) {
    case 'RUNNING':
    case 'FINISHED':
    case 'SUCCESS':
      return style.green
    case 'PAUSE':
      return style.yellow
    case 'FAILED':
      return style.red
    case 'OFFLINE':
      return style.dim
    default:
      return (text) => text
  }
}

/** `yes`/`no` for tables. */
export function yesNo(value: boolean): string {
  return value ? 'yes' : 'no'
}
