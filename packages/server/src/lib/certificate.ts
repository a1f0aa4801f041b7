/**
 * Self-signed TLS certificates: for the cloud broker when no MQTT_CERT/MQTT_KEY are
 * given, and for virtual printers, whose LAN broker and FTPS endpoint use TLS like a real
 * printer's.
 */
import fs from 'node:fs/promises'
import { isIP } from 'node:net'
import path from 'node:path'
import selfsigned from 'selfsigned'

export interface Certificate {
  /** PEM. */
  cert: string
  /** PEM, PKCS#8. */
  key: string
}

/** A new RSA-2048 certificate for `commonName`, valid ten years from now, naming `hosts` (names or IPs). */
export async function generateSelfSignedCertificate(commonName: string, hosts: string[] = ['localhost', '127.0.0.1']): Promise<Certificate> {
  const altNames = hosts.map((host) => (isIP(host) ? { type: 7 as const, ip: host } : { type: 2 as const, value: host }))
  const pems = await selfsigned.generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    notAfterDate: new Date(Date.now() + 3650 * 86_400_000),
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames }],
  })
  return { cert: pems.cert, key: pems.private }
}

/**
 * The certificate kept in `dir` as `<name>.crt`/`<name>.key`, created on first use for
 * `hosts` (default: localhost). The key
 * file is written 0600 and both land atomically, so a crash never leaves half a pair.
 */
export async function loadOrCreateCertificate(dir: string, name: string, commonName: string, hosts?: string[]): Promise<Certificate> {
  const certPath = path.join(dir, `${name}.crt`)
  const keyPath = path.join(dir, `${name}.key`)
  try {
    return { cert: await fs.readFile(certPath, 'utf8'), key: await fs.readFile(keyPath, 'utf8') }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const created = await generateSelfSignedCertificate(commonName, hosts)
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  await writeAtomically(keyPath, created.key, 0o600)
  // Public, but DATA_DIR keeps every file private to the server.
  await writeAtomically(certPath, created.cert, 0o600)
  return created
}

async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`
  await fs.writeFile(temp, content, { mode })
  await fs.rename(temp, file)
}
