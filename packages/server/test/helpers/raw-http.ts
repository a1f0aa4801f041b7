/**
 * HTTP/1.1 written by hand over a real socket: the slow, partial and malformed requests
 * that fetch and node:http will not send. The answer is read until the server closes.
 */
import net from 'node:net'
import type { TestContext } from 'node:test'

export interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

export interface RawConnection {
  write(data: string | Buffer): void
  /** Writes `piece` again every `everyMs` until the server closes. */
  trickle(piece: string | Buffer, everyMs: number): void
  /** Everything the server sent, once it closed the connection. */
  closed: Promise<string>
}

/** Connects to a loopback port; a test that times out drops the connection, so the server can close. */
export async function connectRaw(t: TestContext, port: number): Promise<RawConnection> {
  const socket = net.connect(port, '127.0.0.1')
  t.signal.addEventListener('abort', () => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  let received = ''
  let timer: NodeJS.Timeout | undefined
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => (received += chunk))
  // A reset after the server's answer (it closed with our bytes unread) still ends the exchange.
  const closed = new Promise<string>((resolve) => {
    socket.on('error', () => {})
    socket.once('close', () => {
      clearInterval(timer)
      resolve(received)
    })
  })
  return {
    write: (data) => void socket.write(data),
    trickle(piece, everyMs) {
      timer = setInterval(() => {
        if (socket.writable) socket.write(piece)
      }, everyMs)
    },
    closed,
  }
}

/** Splits one HTTP/1.1 answer into status, lower-cased headers and body. */
export function parseAnswer(text: string): RawAnswer {
  const end = text.indexOf('\r\n\r\n')
  const [statusLine, ...lines] = text.slice(0, end < 0 ? text.length : end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body: end < 0 ? '' : text.slice(end + 4) }
}
