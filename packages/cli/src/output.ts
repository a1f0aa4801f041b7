/**
 * Everything the CLI prints. `--json` prints the data as JSON and nothing else on stdout.
 * Otherwise, on a terminal: aligned tables with a header, colour (unless `NO_COLOR`) and
 * progress bars; not on a terminal: plain tab-separated lines, no header, no escapes, so
 * `cut`, `grep` and `awk` work on them.
 */
import type { Writable } from 'node:stream'
import stringWidth from 'string-width'

export interface Column<T> {
  header: string
  value: (row: T) => string
  /** Colours the (already padded) cell on a terminal. */
  style?: (row: T, text: string) => string
  align?: 'left' | 'right'
}

export type Paint = (text: string) => string

/** ANSI styles; each one returns the text unchanged when colour is off. */
export interface Styles {
  bold: Paint
  dim: Paint
  red: Paint
  green: Paint
  yellow: Paint
  cyan: Paint
}

function styles(enabled: boolean): Styles {
  const sgr = (open: number, close: number): Paint => (enabled ? (text) => `\x1b[${open}m${text}\x1b[${close}m` : (text) => text)
  return { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39) }
}

/**
 * Where a command's output goes, and in which form.
 *
 * @example
 * const out = new Output({ json: false })
 * out.table(devices, [
 *   { header: 'DEV_ID', value: (d) => d.dev_id },
 *   { header: 'NAME', value: (d) => d.name },
 * ])
 */
export class Output {
  /** `--json`: data as JSON on stdout, nothing else there. */
  readonly json: boolean
  /** stdout is a terminal: tables, colour and progress bars. */
  readonly tty: boolean
  readonly color: boolean
  readonly style: Styles
  readonly stdout: Writable
  readonly stderr: Writable

  constructor(options: { json: boolean; stdout?: Writable & { isTTY?: boolean }; stderr?: Writable; env?: NodeJS.ProcessEnv }) {
    const stdout = options.stdout ?? process.stdout
    const env = options.env ?? process.env
    this.json = options.json
    this.tty = stdout.isTTY === true
    // https://no-color.org: any non-empty NO_COLOR turns colour off.
    this.color = this.tty && !env.NO_COLOR && env.TERM !== 'dumb'
    this.style = styles(this.color)
    this.stdout = stdout
    this.stderr = options.stderr ?? process.stderr
  }

  write(text: string): void {
    this.stdout.write(text)
  }

  /** Prints a value as indented JSON (the `--json` form of every command). */
  printJson(value: unknown): void {
    this.write(`${JSON.stringify(value, null, 2)}\n`)
  }

  /** A line for the person at the keyboard, on stderr (so stdout keeps only data). */
  note(text: string): void {
    this.stderr.write(`${text}\n`)
  }

  /** Rows as a table on a terminal, as tab-separated lines otherwise. */
  table<T>(rows: readonly T[], columns: readonly Column<T>[], empty = 'nothing to show'): void {
    if (!this.tty) {
      for (const row of rows) this.write(`${columns.map((c) => plain(c.value(row))).join('\t')}\n`)
      return
    }
    if (rows.length === 0) {
      this.write(`${this.style.dim(empty)}\n`)
      return
    }
    const cells = rows.map((row) => columns.map((c) => c.value(row)))
    const widths = columns.map((c, i) => Math.max(stringWidth(c.header), ...cells.map((r) => stringWidth(r[i]!))))
    const last = columns.length - 1
    const line = (texts: string[], paint: (i: number, padded: string) => string) =>
      texts.map((text, i) => paint(i, i === last && columns[i]!.align !== 'right' ? text : pad(text, widths[i]!, columns[i]!.align))).join('  ')
    this.write(`${line(columns.map((c) => c.header), (_, padded) => this.style.bold(padded))}\n`)
    rows.forEach((row, r) => {
      this.write(`${line(cells[r]!, (i, padded) => columns[i]!.style?.(row, padded) ?? padded)}\n`)
    })
  }

  /** Label/value pairs: aligned on a terminal, `label<TAB>value` lines otherwise. */
  fields(pairs: readonly (readonly [string, string])[]): void {
    if (!this.tty) {
      for (const [label, value] of pairs) this.write(`${label}\t${plain(value)}\n`)
      return
    }
    const width = Math.max(...pairs.map(([label]) => stringWidth(label)))
    for (const [label, value] of pairs) this.write(`${this.style.bold(pad(`${label}:`, width + 1))} ${value}\n`)
  }

  /**
   * A progress bar on a terminal (`█████░░░░░  50%`), the bare percentage otherwise; `-` when unknown.
   *
   * @example
   * out.progress(40) // "████████░░░░░░░░░░░░  40%" on a terminal, "40%" in a pipe
   */
  progress(percent: number | null, width = 20): string {
    if (percent === null) return '-'
    const p = Math.max(0, Math.min(100, Math.round(percent)))
    if (!this.tty) return `${p}%`
    const filled = Math.round((p / 100) * width)
    return `${'█'.repeat(filled)}${this.style.dim('░'.repeat(width - filled))} ${String(p).padStart(3)}%`
  }
}

/** Pads to `width` terminal columns: a CJK character or an emoji takes two, an escape none. */
function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - stringWidth(text)))
  return align === 'right' ? fill + text : text + fill
}

/** A cell of a tab-separated line: no tabs or newlines of its own. */
function plain(text: string): string {
  return text.replace(/[\t\r\n]+/g, ' ')
}
