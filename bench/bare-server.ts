/**
 * The baseline: a bare node:http server answering each recorded path with the real
 * server's bytes and headers, nothing else. Run by bench/run.ts with a routes file; prints
 * `listening PORT`; exits when its stdin closes (its parent is gone).
 */
import fs from 'node:fs'
import http from 'node:http'

interface Route {
  path: string
  headers: Record<string, string>
  body: string
}

const routes = new Map<string, { headers: Record<string, string>; body: Buffer }>()
for (const r of JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as Route[]) {
  const body = Buffer.from(r.body, 'base64')
  routes.set(r.path, { headers: { ...r.headers, 'content-length': String(body.length) }, body })
}

const server = http.createServer((req, res) => {
  const route = routes.get(req.url ?? '')
  if (!route) {
    res.writeHead(404).end()
    return
  }
  res.writeHead(200, route.headers).end(route.body)
})
// Fastify's default, so the Keep-Alive header matches too.
server.keepAliveTimeout = 72_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.on('close', () => process.exit(0))
process.stdin.resume()
process.on('SIGTERM', () => process.exit(0))
