/**
 * Puts one file on a printer's FTPS endpoint, as Bambu Studio does on the LAN: implicit
 * TLS from the first byte (port 990), user `bblp`, the access code as password, passive
 * data connections over TLS. Printers present self-signed certificates, so the
 * certificate is not checked against a CA; instead it must be the one pinned for that
 * printer (`pinnedSha256`), when one is.
 */
import type { TLSSocket } from 'node:tls'
import type { Readable } from 'node:stream'
import { Client } from 'basic-ftp'

export interface FtpsTarget {
  host: string
  port: number
  user: string
  password: string
  /** SHA-256 fingerprint (`AA:BB:...`, as node reports it) the printer's certificate must have. */
  pinnedSha256?: string | null
  /** Per-step timeout, milliseconds. */
  timeoutMs?: number
}

export class FtpsError extends Error {
  override name = 'FtpsError'
}

/** Uploads `source` to `remotePath`; resolves to the certificate fingerprint the printer showed. */
export async function uploadOverFtps(target: FtpsTarget, source: Readable, remotePath: string): Promise<string> {
  const client = new Client(target.timeoutMs ?? 30_000)
  try {
    await client.connectImplicitTLS(target.host, target.port, { rejectUnauthorized: false, servername: undefined })
    // Checked before the password goes out: another host must not collect the access code.
    const fingerprint = (client.ftp.socket as TLSSocket).getPeerCertificate?.().fingerprint256 ?? ''
    if (target.pinnedSha256 && fingerprint !== target.pinnedSha256) {
      throw new FtpsError('the printer presented a different certificate than the one pinned for it')
    }
    await client.login(target.user, target.password)
    await client.useDefaultSettings()
    await client.uploadFrom(source, remotePath)
    return fingerprint
  } catch (err) {
    if (err instanceof FtpsError) throw err
    const code = (err as { code?: unknown }).code
    throw new FtpsError(code === 530 ? 'the printer refused the access code (FTPS 530)' : `FTPS upload failed: ${(err as Error).message}`, { cause: err })
  } finally {
    client.close()
  }
}
