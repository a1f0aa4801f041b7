/**
 * HTTP/1.1 written byte for byte on a socket: for requests no HTTP client would send
 * (a NUL in a header, a malformed request line, bad percent-encoding, oversized headers).
 */
import net from 'node:net'

export interface RawReply {
  status: number
  headers: Record<string, string>
  body: string
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
