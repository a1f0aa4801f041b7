/**
 * One FTPS control connection: login, directories, passive data connections, uploads
 * (STOR), SIZE, LIST, DELE. Commands run one at a time in arrival order, so a transfer
 * finishes before the next command is read; that is all the concurrency a printer needs.
 * Paths never leave the root: they are resolved against `/` before touching the disk.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import { isIPv4 } from 'node:net'
import path from 'node:path'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { TLSSocket } from 'node:tls'
import { constantTimeEqual } from '../lib/secrets.ts'
import type { FtpsSettings, PassiveChannel } from './ftps-server.ts'

/** Longest command line accepted; FTP lines are short. */
const MAX_LINE = 4096
/** Commands queued beyond this pause reading until the session catches up. */
const MAX_QUEUED = 32
const MAX_LOGIN_FAILURES = 3
/** What may be sent before logging in. */
const BEFORE_LOGIN = new Set(['USER', 'PASS', 'QUIT', 'FEAT', 'SYST', 'OPTS', 'PBSZ', 'PROT', 'NOOP'])
const FEATURES = ['EPSV', 'PASV', 'PBSZ', 'PROT', 'SIZE', 'UTF8']

class TooLarge extends Error {}

export class FtpSession {
  private buffer = ''
  private readonly queue: string[] = []
  private draining = false
  private closed = false
  private transferring = false
  private user: string | null = null
  private loggedIn = false
  private loginFailures = 0
  private cwd = '/'
  private passive: PassiveChannel | null = null

  constructor(
    private readonly socket: TLSSocket,
    private readonly settings: FtpsSettings,
  ) {
    socket.setEncoding('utf8')
    socket.setTimeout(settings.idleTimeoutMs)
    socket.on('timeout', () => {
      if (this.transferring) return
      this.reply(421, 'Idle too long, closing')
      this.destroy()
    })
    socket.on('data', (chunk: string) => this.receive(chunk))
    socket.on('error', () => this.destroy())
    socket.on('close', () => this.destroy())
    this.reply(220, 'FTPS ready')
  }

  destroy(): void {
    if (this.closed) return
    this.closed = true
    this.passive?.close()
    this.passive = null
    this.socket.destroy()
  }

  private receive(chunk: string): void {
    this.buffer += chunk
    for (let end = this.buffer.indexOf('\n'); end >= 0; end = this.buffer.indexOf('\n')) {
      this.queue.push(this.buffer.slice(0, end).replace(/\r$/, ''))
      this.buffer = this.buffer.slice(end + 1)
    }
    if (this.buffer.length > MAX_LINE) {
      this.reply(500, 'Line too long')
      this.destroy()
      return
    }
    if (this.queue.length > MAX_QUEUED) this.socket.pause()
    void this.drain()
  }

  private async drain(): Promise<void> {
    if (this.draining) return
    this.draining = true
    try {
      while (!this.closed && this.queue.length > 0) {
        await this.execute(this.queue.shift()!)
        if (this.queue.length <= MAX_QUEUED) this.socket.resume()
      }
    } catch {
      // A local failure (disk, permissions) ends the session rather than the process.
      this.reply(451, 'Local error')
      this.destroy()
    } finally {
      this.draining = false
    }
  }

  private reply(code: number, text: string): void {
    if (!this.closed && this.socket.writable) this.socket.write(`${code} ${text}\r\n`)
  }

  private async execute(line: string): Promise<void> {
    const space = line.indexOf(' ')
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase()
    const arg = space < 0 ? '' : line.slice(space + 1)
    if (!this.loggedIn && !BEFORE_LOGIN.has(verb)) return this.reply(530, 'Log in with USER and PASS first')
    switch (verb) {
      case 'USER':
        this.user = arg
        this.loggedIn = false
        return this.reply(331, 'Password required')
      case 'PASS':
        return this.login(arg)
      case 'QUIT':
        this.reply(221, 'Goodbye')
        this.socket.end()
        return
      case 'NOOP':
        return this.reply(200, 'OK')
      case 'SYST':
        return this.reply(215, 'UNIX Type: L8')
      case 'FEAT':
        return this.replyLines(211, ['Features:', ...FEATURES.map((f) => ` ${f}`), 'End'])
      case 'OPTS':
        return arg.toUpperCase().startsWith('UTF8') ? this.reply(200, 'UTF8 is always on') : this.reply(501, 'Unknown option')
      case 'PBSZ':
        return this.reply(200, 'PBSZ=0')
      case 'PROT':
        // Data connections are always protected, as on a printer.
        return arg.toUpperCase() === 'P' ? this.reply(200, 'Protection level set to P') : this.reply(536, 'Only PROT P is supported')
      case 'TYPE':
        return /^[AI]( N)?$/i.test(arg) ? this.reply(200, `Type set to ${arg[0]!.toUpperCase()}`) : this.reply(504, 'Unsupported type')
      case 'STRU':
        return arg.toUpperCase() === 'F' ? this.reply(200, 'Structure set to F') : this.reply(504, 'Unsupported structure')
      case 'MODE':
        return arg.toUpperCase() === 'S' ? this.reply(200, 'Mode set to S') : this.reply(504, 'Unsupported mode')
      case 'PWD':
      case 'XPWD':
        return this.reply(257, `"${this.cwd.replaceAll('"', '""')}" is the current directory`)
      case 'CWD':
        return this.changeDirectory(arg)
      case 'CDUP':
        return this.changeDirectory('..')
      case 'MKD':
        return this.makeDirectory(arg)
      case 'PASV':
        return this.enterPassive(false)
      case 'EPSV':
        return this.enterPassive(true)
      case 'STOR':
        return this.store(arg)
      case 'LIST':
        return this.list(arg)
      case 'SIZE':
        return this.size(arg)
      case 'DELE':
        return this.remove(arg)
      default:
        return this.reply(502, 'Command not implemented')
    }
  }

  private replyLines(code: number, lines: string[]): void {
    const last = lines.length - 1
    const text = lines.map((l, i) => (i === 0 ? `${code}-${l}` : i === last ? `${code} ${l}` : l)).join('\r\n')
    if (!this.closed && this.socket.writable) this.socket.write(`${text}\r\n`)
  }

  private login(password: string): void {
    const ok = this.user !== null && constantTimeEqual(this.user, this.settings.user) && constantTimeEqual(password, this.settings.password)
    if (ok) {
      this.loggedIn = true
      return this.reply(230, 'Logged in')
    }
    this.reply(530, 'Login incorrect')
    if (++this.loginFailures >= MAX_LOGIN_FAILURES) this.destroy()
  }

  /** The client's path (absolute, normalised, never above `/`) and where it lives on disk. */
  private resolve(arg: string): { ftpPath: string; diskPath: string } {
    const ftpPath = path.posix.resolve(this.cwd, arg === '' ? '.' : arg)
    return { ftpPath, diskPath: path.join(this.settings.root, ...ftpPath.split('/')) }
  }

  private async changeDirectory(arg: string): Promise<void> {
    const { ftpPath, diskPath } = this.resolve(arg)
    const stat = await fs.stat(diskPath).catch(() => null)
    if (!stat?.isDirectory()) return this.reply(550, 'No such directory')
    this.cwd = ftpPath
    this.reply(250, 'Directory changed')
  }

  private async makeDirectory(arg: string): Promise<void> {
    const { ftpPath, diskPath } = this.resolve(arg)
    try {
      await fs.mkdir(diskPath)
    } catch {
      return this.reply(550, 'Cannot create directory')
    }
    this.reply(257, `"${ftpPath.replaceAll('"', '""')}" created`)
  }

  private async enterPassive(extended: boolean): Promise<void> {
    const local = (this.socket.localAddress ?? '').replace(/^::ffff:/i, '')
    const remote = this.socket.remoteAddress ?? ''
    if (!extended && !isIPv4(local)) return this.reply(425, 'Use EPSV on this connection')
    this.passive?.close()
    this.passive = await this.settings.openPassive(this.socket.localAddress ?? local, remote)
    const port = this.passive.port
    if (extended) return this.reply(229, `Entering Extended Passive Mode (|||${port}|)`)
    this.reply(227, `Entering Passive Mode (${local.replaceAll('.', ',')},${port >> 8},${port & 255})`)
  }

  /** The data connection prepared by PASV/EPSV, or null after replying why there is none. */
  private async dataConnection(): Promise<{ channel: PassiveChannel; socket: TLSSocket } | null> {
    const channel = this.passive
    this.passive = null
    if (!channel) {
      this.reply(425, 'Use PASV or EPSV first')
      return null
    }
    try {
      return { channel, socket: await channel.accepted() }
    } catch {
      channel.close()
      this.reply(425, 'Cannot open data connection')
      return null
    }
  }

  private async store(arg: string): Promise<void> {
    const { ftpPath, diskPath } = this.resolve(arg)
    const parent = await fs.stat(path.dirname(diskPath)).catch(() => null)
    const existing = await fs.stat(diskPath).catch(() => null)
    if (arg === '' || !parent?.isDirectory() || existing?.isDirectory()) {
      this.passive?.close()
      this.passive = null
      return this.reply(553, 'Cannot store there')
    }
    const data = await this.dataConnection()
    if (!data) return
    // Written beside the target and renamed into place: a reader never sees half a file.
    const temp = path.join(path.dirname(diskPath), `.${path.basename(diskPath)}.${randomBytes(6).toString('hex')}.part`)
    const md5 = createHash('md5')
    let size = 0
    const max = this.settings.maxFileBytes
    const counter = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
        size += chunk.length
        if (size > max) return done(new TooLarge())
        md5.update(chunk)
        done(null, chunk)
      },
    })
    this.transferring = true
    this.reply(150, 'Ready to receive')
    try {
      await pipeline(data.socket, counter, createWriteStream(temp, { flags: 'wx' }))
      await fs.rename(temp, diskPath)
    } catch (err) {
      data.channel.close()
      await fs.rm(temp, { force: true })
      return this.reply(err instanceof TooLarge ? 552 : 426, err instanceof TooLarge ? 'File too large' : 'Transfer aborted')
    } finally {
      this.transferring = false
    }
    data.socket.end()
    this.reply(226, 'Transfer complete')
    this.settings.stored({ path: ftpPath, size, md5: md5.digest('hex') })
  }

  private async list(arg: string): Promise<void> {
    // Clients often pass `ls` flags (`-a`, `-l`); they change nothing here.
    const { diskPath } = this.resolve(arg.startsWith('-') ? '' : arg)
    const entries = await fs.readdir(diskPath, { withFileTypes: true }).catch(() => null)
    if (!entries) {
      this.passive?.close()
      this.passive = null
      return this.reply(550, 'No such directory')
    }
    const data = await this.dataConnection()
    if (!data) return
    this.reply(150, 'Here comes the listing')
    const lines: string[] = []
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue
      const stat = await fs.stat(path.join(diskPath, entry.name)).catch(() => null)
      if (stat) lines.push(listLine(entry.name, stat))
    }
    await new Promise<void>((resolve) => data.socket.end(lines.join(''), resolve))
    this.reply(226, 'Listing sent')
  }

  private async size(arg: string): Promise<void> {
    const stat = await fs.stat(this.resolve(arg).diskPath).catch(() => null)
    if (!stat?.isFile()) return this.reply(550, 'No such file')
    this.reply(213, String(stat.size))
  }

  private async remove(arg: string): Promise<void> {
    const { ftpPath, diskPath } = this.resolve(arg)
    const stat = await fs.stat(diskPath).catch(() => null)
    if (!stat?.isFile()) return this.reply(550, 'No such file')
    await fs.rm(diskPath)
    this.reply(250, 'Deleted')
    this.settings.deleted(ftpPath)
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** One `ls -l` style line, the format every FTP client parses. */
function listLine(name: string, stat: { size: number; mtime: Date; isDirectory(): boolean }): string {
  const m = stat.mtime
  const date = `${MONTHS[m.getUTCMonth()]} ${String(m.getUTCDate()).padStart(2)} ${m.getUTCFullYear()}`
  const mode = stat.isDirectory() ? 'drwxr-xr-x' : '-rw-r--r--'
  return `${mode} 1 bblp bblp ${String(stat.size).padStart(10)} ${date} ${name}\r\n`
}
