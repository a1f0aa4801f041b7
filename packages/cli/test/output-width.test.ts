/** Table widths count terminal columns: CJK names and emoji (two columns each) still align. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { Output } from '../src/output.ts'

/** An Output writing to a terminal-like stream, colour as asked; returns it and what it wrote. */
function terminalOutput(env: NodeJS.ProcessEnv) {
  let text = ''
  const stdout = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        text += chunk.toString()
        cb()
      },
    }),
    { isTTY: true },
  )
  return { out: new Output({ json: false, stdout, env }), text: () => text }
}

const PRINTERS = [
  { name: '打印机一号', dev_id: '01P00A000000001', status: 'IDLE' },
  { name: 'Shop X1C', dev_id: '01S00C000000002', status: 'RUNNING' },
  { name: '🐙 Octo', dev_id: '01P00A000000003', status: 'FAILED' },
]

test('a table with CJK and emoji names puts the next column at the same terminal column on every line', () => {
  const { out, text } = terminalOutput({ NO_COLOR: '1' })
  out.table(PRINTERS, [
    { header: 'NAME', value: (p) => p.name },
    { header: 'DEV_ID', value: (p) => p.dev_id },
    { header: 'STATUS', value: (p) => p.status },
  ])
  assert.deepEqual(text().split('\n'), [
    'NAME        DEV_ID           STATUS',
    '打印机一号  01P00A000000001  IDLE',
    'Shop X1C    01S00C000000002  RUNNING',
    '🐙 Octo     01P00A000000003  FAILED',
    '',
  ])
})

test('colour escapes take no width, and CJK labels align their values', () => {
  const { out, text } = terminalOutput({ TERM: 'xterm' })
  out.table(PRINTERS.slice(0, 2), [
    { header: 'NAME', value: (p) => p.name, style: (_p, padded) => out.style.cyan(padded) },
    { header: 'STATUS', value: (p) => p.status },
  ])
  assert.ok(text().includes('\x1b[36m'), 'the names are coloured')
  const plain = text().replace(/\x1b\[[0-9;]*m/g, '')
  assert.deepEqual(plain.split('\n'), ['NAME        STATUS', '打印机一号  IDLE', 'Shop X1C    RUNNING', ''])
  const fields = terminalOutput({ NO_COLOR: '1' })
  fields.out.fields([
    ['名称', '打印机一号'],
    ['Model', 'X1C'],
  ])
  assert.deepEqual(fields.text().split('\n'), ['名称:  打印机一号', 'Model: X1C', ''])
})
