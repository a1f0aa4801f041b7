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

/**
 * Asks for a secret without echoing it (raw mode: backspace edits, Ctrl-C interrupts).
 *
 * @example
 * const password = await askSecret('Password for you@example.com: ')
 */
export function askSecret(question: string): Promise<string> {
  const stdin = process.stdin
  return new Promise((resolve, reject) => {
    let value = ''
    const finish = (error: Error | null) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      if (error) reject(error)
      else resolve(value)
    }
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(value === '' ? new UsageError('no password given') : null)
        if (ch === '\u0003') return finish(new Interrupted())
        if (ch === '\u0004' && value === '') return finish(new UsageError('no password given'))
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('')
        else if (ch >= ' ') value += ch
      }
    }
    // Raw mode before the prompt shows, so nothing typed after it can echo.
    stdin.setRawMode(true)
    process.stderr.write(question)
    stdin.on('data', onData)
    stdin.resume()
  })
}
