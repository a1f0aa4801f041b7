/**
 * The saved logins: `$XDG_CONFIG_HOME/bambu-cloud/tokens.json` (default
 * `~/.config/bambu-cloud/`), mode 0600 in a 0700 directory. One login per server, keyed by
 * its base URL, so a token is only ever sent to the server that issued it; `current` is the
 * server of the latest login, used when no base URL is given.
 *
 * ```json
 * { "current": "http://localhost:8080",
 *   "sessions": { "http://localhost:8080": { "account": "you@example.com", "accessToken": "…", "refreshToken": "…", "savedAt": "…" } } }
 * ```
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CliError } from './errors.ts'

export interface SavedSession {
  account: string
  accessToken: string
  refreshToken: string
  /** ISO time of the login or refresh that brought these tokens. */
  savedAt: string
}

interface StoreFile {
  current?: string
  sessions: Record<string, SavedSession>
}

/** `$XDG_CONFIG_HOME/bambu-cloud`, or `~/.config/bambu-cloud` (a relative XDG_CONFIG_HOME is ignored, as the spec says). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.config')
  return path.join(base, 'bambu-cloud')
}

/**
 * Reads and writes the saved logins. Every write replaces the file atomically.
 *
 * @example
 * const store = new TokenStore(configDir())
 * store.save('http://localhost:8080', { account, accessToken, refreshToken, savedAt: new Date().toISOString() })
 * store.session('http://localhost:8080')?.accessToken
 */
export class TokenStore {
  readonly file: string

  constructor(readonly dir: string) {
    this.file = path.join(dir, 'tokens.json')
  }

  /** The base URL of the latest login, if any. */
  current(): string | undefined {
    return this.read().current
  }

  session(baseUrl: string): SavedSession | undefined {
    return this.read().sessions[baseUrl]
  }

  save(baseUrl: string, session: SavedSession): void {
    const data = this.read()
    data.sessions[baseUrl] = session
    data.current = baseUrl
    this.write(data)
  }

  /** Forgets the login to one server; the file goes when no login is left. */
  remove(baseUrl: string): void {
    const data = this.read()
    if (!(baseUrl in data.sessions)) return
    delete data.sessions[baseUrl]
    if (data.current === baseUrl) data.current = Object.keys(data.sessions)[0]
    if (data.current === undefined) fs.rmSync(this.file, { force: true })
    else this.write(data)
  }

  private read(): StoreFile {
    let text: string
    try {
      text = fs.readFileSync(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { sessions: {} }
      throw new CliError(`cannot read ${this.file}: ${(err as Error).message}`)
    }
    try {
      const data = JSON.parse(text) as StoreFile
      if (typeof data !== 'object' || data === null || typeof data.sessions !== 'object' || data.sessions === null) throw new Error('no sessions')
      return data
    } catch {
      throw new CliError(`${this.file} is damaged: delete it and log in again`)
    }
  }

  private write(data: StoreFile): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    // The directory is ours alone; tighten it if it was made looser.
    fs.chmodSync(this.dir, 0o700)
    const temp = `${this.file}.${process.pid}.tmp`
    const fd = fs.openSync(temp, 'w', 0o600)
    try {
      fs.fchmodSync(fd, 0o600)
      fs.writeFileSync(fd, `${JSON.stringify({ current: data.current, sessions: data.sessions }, null, 2)}\n`)
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(temp, this.file)
  }
}
