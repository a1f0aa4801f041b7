/**
 * The FTPS storage on its own: logins, uploads through basic-ftp, and the protocol
 * details a raw client sees (replies, passive mode, TLS session reuse on data connections).
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import tls from 'node:tls'
import { Client as FtpClient, FTPError } from 'basic-ftp'
import { FtpsServer, type FtpsServerOptions, type StoredFile } from '../../src/simulator/ftps-server.ts'
import { md5, testCertificate, WAIT_MS } from './helpers.ts'

const PASSWORD = '87654321'

async function startServer(t: TestContext, options: Partial<FtpsServerOptions> = {}) {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ftps-test-'))
  const server = await FtpsServer.start({ root, user: 'bblp', password: PASSWORD, certificate: await testCertificate(), ...options })
  const stored: StoredFile[] = []
  server.on('stored', (file) => stored.push(file))
  t.after(async () => {
    await server.close()
    await fs.rm(root, { recursive: true, force: true })
  })
  return { server, root, stored }
}

async function login(t: TestContext, port: number, password = PASSWORD): Promise<FtpClient> {
  const client = new FtpClient(WAIT_MS)
  t.after(() => client.close())
  await client.access({ host: '127.0.0.1', port, user: 'bblp', password, secure: 'implicit', secureOptions: { rejectUnauthorized: false } })
  return client
}

/** A control connection driven line by line, to see the server's exact replies. */
async function rawSession(t: TestContext, port: number) {
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false })
  t.after(() => socket.destroy())
  let buffer = ''
  let wake: (() => void) | null = null
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buffer += chunk
    wake?.()
  })
  /** The next complete reply (multi-line ones included), as its final line. */
  const reply = async (): Promise<string> => {
    for (;;) {
      const match = /^(\d{3}) .*\r\n/m.exec(buffer)
      if (match) {
        buffer = buffer.slice(match.index + match[0].length)
        return match[0].trimEnd()
      }
      await new Promise<void>((resolve) => (wake = resolve))
    }
  }
  const send = async (line: string) => {
    socket.write(`${line}\r\n`)
    return reply()
  }
  assert.match(await reply(), /^220 /)
  return { socket, send, reply }
}

test('a wrong password is refused with 530; the right one logs in', async (t) => {
  const { server } = await startServer(t)
  await assert.rejects(login(t, server.port, 'wrong'), (err: unknown) => err instanceof FTPError && err.code === 530)
  const client = await login(t, server.port)
  assert.equal(await client.pwd(), '/')
})

test('an upload is stored whole, with its md5 and size, and SIZE reports it', async (t) => {
  const { server, root, stored } = await startServer(t)
  const client = await login(t, server.port)
  const content = Buffer.alloc(3 * 1024 * 1024 + 17, 'abc')
  await client.uploadFrom(Readable.from([content]), 'model.3mf')
  assert.equal(await client.size('model.3mf'), content.length)
  assert.deepEqual(await fs.readFile(path.join(root, 'model.3mf')), content)
  assert.deepEqual(stored, [{ path: '/model.3mf', size: content.length, md5: md5(content) }])
  assert.deepEqual((await fs.readdir(root)).filter((n) => n.endsWith('.part')), [], 'no temporary file left')

  await fs.mkdir(path.join(root, 'cache'))
  await client.cd('cache')
  await client.uploadFrom(Readable.from([Buffer.from('second')]), 'other.3mf')
  assert.equal(stored[1]!.path, '/cache/other.3mf')
  assert.deepEqual((await client.list('/cache')).map((f) => [f.name, f.size]), [['other.3mf', 6]])
})

test('paths cannot climb above the root', async (t) => {
  const { server, root, stored } = await startServer(t)
  const client = await login(t, server.port)
  await client.uploadFrom(Readable.from([Buffer.from('x')]), '../../escape.3mf')
  assert.equal(stored[0]!.path, '/escape.3mf')
  await fs.access(path.join(root, 'escape.3mf'))
  await client.cd('../..')
  assert.equal(await client.pwd(), '/')
})

test('DELE removes a file; SIZE and DELE of a missing one answer 550', async (t) => {
  const { server, root } = await startServer(t)
  const deleted: string[] = []
  server.on('deleted', (p) => deleted.push(p))
  const client = await login(t, server.port)
  await client.uploadFrom(Readable.from([Buffer.from('x')]), 'gone.3mf')
  await client.remove('gone.3mf')
  assert.deepEqual(deleted, ['/gone.3mf'])
  await assert.rejects(fs.access(path.join(root, 'gone.3mf')))
  await assert.rejects(client.size('gone.3mf'), (err: unknown) => err instanceof FTPError && err.code === 550)
  await assert.rejects(client.remove('gone.3mf'), (err: unknown) => err instanceof FTPError && err.code === 550)
})

test('an upload over the size cap is refused with 552 and leaves nothing behind', async (t) => {
  const { server, root, stored } = await startServer(t, { maxFileBytes: 1024 })
  // The reply comes once the partial file is gone; a raw session can wait for it.
  const { send, reply } = await rawSession(t, server.port)
  await send('USER bblp')
  await send(`PASS ${PASSWORD}`)
  const port = Number(/\(\|\|\|(\d+)\|\)/.exec(await send('EPSV'))![1])
  const data = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false })
  data.on('error', () => {})
  await new Promise<void>((resolve) => data.once('secureConnect', resolve))
  assert.match(await send('STOR big.3mf'), /^150 /)
  data.write(Buffer.alloc(4096))
  assert.match(await reply(), /^552 /)
  assert.deepEqual(stored, [])
  assert.deepEqual(await fs.readdir(root), [])

  const client = await login(t, server.port)
  await assert.rejects(client.uploadFrom(Readable.from([Buffer.alloc(64 * 1024)]), 'big.3mf'))
  assert.deepEqual(stored, [])
})

test('commands before login get 530, unknown ones 502, and the greeting and FEAT are well-formed', async (t) => {
  const { server } = await startServer(t)
  const { send } = await rawSession(t, server.port)
  assert.match(await send('PWD'), /^530 /)
  assert.match(await send('FEAT'), /^211 End/)
  assert.match(await send('USER bblp'), /^331 /)
  assert.match(await send(`PASS ${PASSWORD}`), /^230 /)
  assert.match(await send('SYST'), /^215 UNIX/)
  assert.match(await send('TYPE I'), /^200 /)
  assert.match(await send('PBSZ 0'), /^200 /)
  assert.match(await send('PROT P'), /^200 /)
  assert.match(await send('PROT C'), /^536 /)
  assert.match(await send('OPTS UTF8 ON'), /^200 /)
  assert.match(await send('SITE CHMOD 777 x'), /^502 /)
  assert.match(await send('STOR x.3mf'), /^425 /, 'no passive connection prepared')
  assert.match(await send('CWD /nowhere'), /^550 /)
  assert.match(await send('QUIT'), /^221 /)
})

test('a data connection resumes the control connection’s TLS session', async (t) => {
  const { server, root } = await startServer(t)
  const { socket, send, reply } = await rawSession(t, server.port)
  await send('USER bblp')
  await send(`PASS ${PASSWORD}`)
  const pasv = await send('PASV')
  const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(pasv)
  assert.ok(m, pasv)
  const port = Number(m[5]) * 256 + Number(m[6])
  const data = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, session: socket.getSession() })
  await new Promise<void>((resolve, reject) => data.once('secureConnect', resolve).once('error', reject))
  assert.equal(data.isSessionReused(), true)

  assert.match(await send('STOR resumed.3mf'), /^150 /)
  data.end('payload')
  assert.match(await reply(), /^226 /)
  assert.equal(await fs.readFile(path.join(root, 'resumed.3mf'), 'utf8'), 'payload')

  const epsv = await send('EPSV')
  assert.match(epsv, /^229 Entering Extended Passive Mode \(\|\|\|\d+\|\)$/)
})
