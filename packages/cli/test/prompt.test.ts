/** The secret prompt's key handling: what typed keys make of the password, escape sequences ignored. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SecretKeys } from '../src/prompt.ts'

/** The password and how typing ended, after feeding each chunk in turn (as separate reads). */
function typed(...chunks: string[]): { value: string; end: string | null } {
  const keys = new SecretKeys()
  let end: string | null = null
  for (const chunk of chunks) end = keys.feed(chunk) ?? end
  return { value: keys.value, end }
}

test('arrow keys, Home/End, Delete, function keys and Alt+key add nothing to the password', () => {
  const sequences = {
    'arrows (CSI)': '\u001b[A\u001b[B\u001b[C\u001b[D',
    'arrows (application mode, SS3)': '\u001bOA\u001bOD',
    'Home and End': '\u001b[H\u001b[F\u001bOH',
    Delete: '\u001b[3~',
    'Page Up with modifiers': '\u001b[5;5~',
    'Shift+Right': '\u001b[1;2C',
    F1: '\u001bOP',
    F5: '\u001b[15~',
    'Alt+x': '\u001bx',
  }
  for (const [name, sequence] of Object.entries(sequences)) {
    assert.deepEqual(typed(`se${sequence}cret\r`), { value: 'secret', end: 'enter' }, name)
  }
})

test('an escape sequence split across reads is still ignored', () => {
  assert.deepEqual(typed('pa', '\u001b', '[', '1;5', 'D', 'ss', '\r'), { value: 'pass', end: 'enter' })
  assert.deepEqual(typed('pa\u001b', 'Oss\r'), { value: 'pas', end: 'enter' }, 'ESC O takes exactly one more key')
})

test('printable keys, backspace, Enter, Ctrl-C and Ctrl-D keep their meaning', () => {
  assert.deepEqual(typed('pässwörd€\r'), { value: 'pässwörd€', end: 'enter' })
  assert.deepEqual(typed('abc\u007f\bd\n'), { value: 'ad', end: 'enter' })
  assert.deepEqual(typed('ab\u0003'), { value: 'ab', end: 'interrupt' })
  assert.deepEqual(typed('\u0004'), { value: '', end: 'eof' })
  assert.deepEqual(typed('a\u0004b'), { value: 'ab', end: null }, 'Ctrl-D on a non-empty line is not the end')
  assert.deepEqual(typed('a\tb'), { value: 'ab', end: null }, 'other control keys are dropped')
})
