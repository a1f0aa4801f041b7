/**
 * Asking the person at the keyboard, only when stdin is a terminal. Prompts go to stderr so
 * stdout keeps only data; a secret is read in raw mode and never echoed.
 */
import readline from 'node:readline'
import { Interrupted, UsageError } from './errors.ts'

/** Whether the CLI may ask: stdin is a terminal. */
export function canPrompt(): boolean {
  return process.stdin.isTTY === true
}

/**
 * Asks for a line of text (a login code, say). An empty answer is a usage error.
 *
 * @example
 * const code = await ask('Code from the mail: ')
 */
export async function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true })
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      rl.once('SIGINT', () => reject(new Interrupted()))
      rl.once('close', () => reject(new UsageError(`no answer to "${question.trim()}"`)))
      rl.question(question, resolve)
    })
    if (answer.trim() === '') throw new UsageError(`no answer to "${question.trim()}"`)
    return answer.trim()
  } finally {
    rl.removeAllListeners('close')
    rl.close()
  }
}

/** How typing ended: Enter, Ctrl-C, or Ctrl-D on an empty line. */
export type SecretEnd = 'enter' | 'interrupt' | 'eof'

/**
 * The keys typed at a secret prompt, turned into the secret. Backspace edits; escape
 * sequences (arrow keys `ESC [ ... final`, `ESC O x`, Alt+key `ESC x`) are ignored, even when
 * a sequence is split across reads, so they never end up in the password.
 *
 * @example
 * const keys = new SecretKeys()
 * keys.feed('pa\u001b[Dss\r') // 'enter'; keys.value === 'pass'
 */
export class SecretKeys {
  value = ''
  /** Where an escape sequence under way stands: after ESC, inside `ESC [`, or after `ESC O`. */
  private escape: 'none' | 'esc' | 'csi' | 'ss3' = 'none'

  /** Applies `keys`; returns how typing ended, or null while it goes on. */
  feed(keys: string): SecretEnd | null {
    for (const ch of keys) {
      if (this.escape !== 'none') {
        this.escape = nextEscapeState(this.escape, ch)
        continue
      }
      if (ch === '\u001b') this.escape = 'esc'
      else if (ch === '\r' || ch === '\n') return 'enter'
      else if (ch === '\u0003') return 'interrupt'
      else if (ch === '\u0004' && this.value === '') return 'eof'
      else if (ch === '\u007f' || ch === '\b') this.value = [...this.value].slice(0, -1).join('')
      else if (ch >= ' ') this.value += ch
    }
    return null
  }
}

/** ECMA-48: `ESC [` takes parameter and intermediate bytes up to a final byte (0x40-0x7E); `ESC O` one more. */
function nextEscapeState(state: 'esc' | 'csi' | 'ss3', ch: string): 'none' | 'csi' | 'ss3' {
  if (state === 'esc') return ch === '[' ? 'csi' : ch === 'O' ? 'ss3' : 'none'
  if (state === 'csi') return ch >= '@' && ch <= '~' ? 'none' : 'csi'
  return 'none'
}

/**
 * Asks for a secret without echoing it (raw mode: backspace edits, Ctrl-C interrupts,
 * arrow keys are ignored).
 *
 * @example
 * const password = await askSecret('Password for you@example.com: ')
 */
export function askSecret(question: string): Promise<string> {
  const stdin = process.stdin
  return new Promise((resolve, reject) => {
    const keys = new SecretKeys()
    const finish = (error: Error | null) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      if (error) reject(error)
      else resolve(keys.value)
    }
    const onData = (chunk: Buffer) => {
      const end = keys.feed(chunk.toString('utf8'))
      if (end === 'interrupt') finish(new Interrupted())
      else if (end === 'eof' || (end === 'enter' && keys.value === '')) finish(new UsageError('no password given'))
      else if (end === 'enter') finish(null)
    }
    // Raw mode before the prompt shows, so nothing typed after it can echo.
    stdin.setRawMode(true)
    process.stderr.write(question)
    stdin.on('data', onData)
    stdin.resume()
  })
}
