/**
 * Links to stored files that need no token: uploads go to signed PUT URLs that expire
 * (UPLOAD_URL_TTL), downloads come from signed GET URLs that do not (Home Assistant keeps
 * a task's cover URL; a link stops working when its file is removed). The key is one per
 * database, like the JWT key, so every server process signs alike, and sealed at rest.
 *
 * A blob `projects/<id>/<file>` is served at `/files/<id>/<file>`; an entry inside a 3MF
 * (a thumbnail, a config, the G-code) at `/files/<id>/<file>/<entry path>`.
 */
import type { ServiceContext } from '../context.ts'
import { signPath, verifyPath, type Verdict } from '../lib/signed-url.ts'
import { serverSecret } from './server-secrets.ts'

const SECRET_NAME = 'file-links'

export interface FileSigner {
  /** A signed PUT URL for the blob `key`, valid for UPLOAD_URL_TTL. */
  upload(key: string): string
  /** A signed GET URL for the blob `key`, or for one entry inside it. Never expires. */
  download(key: string, entry?: string): string
  verify(method: 'GET' | 'PUT', path: string, query: { expires?: unknown; sig?: unknown }): Verdict
}

/** `projects/<id>/<file>` <-> `/files/<id>/<file>`. */
export function pathOfKey(key: string, entry?: string): string {
  const m = /^projects\/(\d+)\/([^/]+)$/.exec(key)
  if (!m) throw new Error(`not a project blob key: ${key}`)
  const tail = entry === undefined ? '' : `/${entry.split('/').map(encodeURIComponent).join('/')}`
  return `/files/${m[1]}/${encodeURIComponent(m[2]!)}${tail}`
}

export function keyOf(projectId: string | number, file: string): string {
  return `projects/${projectId}/${file}`
}

export class FileLinks {
  private secret: Promise<string> | undefined

  constructor(private readonly ctx: ServiceContext) {}

  private loadSecret(): Promise<string> {
    this.secret ??= serverSecret(this.ctx, SECRET_NAME)
    // A failed read is tried again next time instead of being remembered.
    this.secret.catch(() => (this.secret = undefined))
    return this.secret
  }

  async signer(): Promise<FileSigner> {
    const secret = await this.loadSecret()
    const { publicUrl, uploadUrlTtl } = this.ctx.config
    const now = this.ctx.now
    const url = (method: string, path: string, expiresAt: number | null) => `${publicUrl}${path}?${signPath(secret, method, path, expiresAt)}`
    return {
      upload: (key) => url('PUT', pathOfKey(key), now() + uploadUrlTtl * 1000),
      download: (key, entry) => url('GET', pathOfKey(key, entry), null),
      verify: (method, path, query) => verifyPath(secret, method, path, query, now()),
    }
  }
}
