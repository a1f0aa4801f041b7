/**
 * HTTP/1.1 written byte for byte on a real socket: for requests no HTTP client would send
 * (a NUL in a header, a malformed request line, oversized headers) and for slow or partial
 * ones (a body trickled, a Content-Length never met). The answer is read until the server closes.
 */
import net from 'node:net'
import type { TestContext } from 'node:test'

export interface RawReply {
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

/** A request target and headers exactly as given; adds Host, Connection: close and Content-Length. */
export function rawRequestText(method: string, target: string, headers: [string, string][] = [], body: Buffer | string = ''): Buffer {
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(body)
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...headers.map(([k, v]) => `${k}: ${v}`)]
  if (payload.length > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(method)) lines.push(`Content-Length: ${payload.length}`)
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload])
}

/** Writes `request` to the port and reads the answer until the server closes the connection. */
export function rawExchange(port: number, request: Buffer | string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    socket.setTimeout(30_000, () => socket.destroy(new Error('no answer within 30 s')))
    socket.on('data', (c: Buffer) => chunks.push(c))
    // The server may close while we still write (431, a malformed line): read what came.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') finish()
      else reject(err)
    })
    socket.on('close', finish)
    // Not end(): a half-closed socket makes Node drop an answer that is still being computed.
    socket.write(request)
    let done = false
    function finish() {
      if (done) return
      done = true
      try {
        resolve(parseReply(Buffer.concat(chunks)))
      } catch (err) {
        reject(err)
      }
    }
  })
}

function parseReply(data: Buffer): RawReply {
  // Interim answers (100 Continue) come before the real one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(data.subarray(0, 16).toString('latin1')) && data.indexOf('\r\n\r\n') >= 0) {
    data = data.subarray(data.indexOf('\r\n\r\n') + 4)
  }
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) throw new Error(`no HTTP answer: ${JSON.stringify(data.toString('latin1').slice(0, 200))}`)
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1])
  if (!Number.isInteger(status)) throw new Error(`bad status line: ${statusLine}`)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body = data.subarray(end + 4)
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body)
  return { status, headers, body: body.toString('utf8') }
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = data.indexOf('\r\n', at)
    if (eol < 0) break
    const size = parseInt(data.subarray(at, eol).toString('latin1'), 16)
    if (!(size > 0)) break
    parts.push(data.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
  return Buffer.concat(parts)
}

/** Splits what a connection received (`RawConnection.closed`) into status, lower-cased headers and body. */
export function parseAnswer(text: string): RawReply {
  return parseReply(Buffer.from(text, 'utf8'))
}
