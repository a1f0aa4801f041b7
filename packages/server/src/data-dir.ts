/**
 * DATA_DIR is the server's alone: the directory and every directory in it 0700, every
 * file 0600 (the database and its -wal/-shm, admin-token, secrets.key, the MQTT key and
 * certificate, uploaded files). A directory left looser by an earlier version is
 * tightened at start. It also keeps the key that seals secrets at rest, unless
 * SECRETS_KEY gives it.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { Config } from './config.ts'
import { parseSecretsKey } from './lib/secret-box.ts'

const PRIVATE_DIR = 0o700
const PRIVATE_FILE = 0o600

/** Creates DATA_DIR (0700), or tightens it and everything in it; returns the paths tightened. */
export function prepareDataDir(dataDir: string): string[] {
  fs.mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR })
  const tightened: string[] = []
  const tighten = (file: string, stat: fs.Stats) => {
    if ((stat.mode & 0o077) === 0) return
    fs.chmodSync(file, stat.isDirectory() ? PRIVATE_DIR : PRIVATE_FILE)
    tightened.push(file)
  }
  tighten(dataDir, fs.statSync(dataDir))
  for (const entry of fs.readdirSync(dataDir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name)
    // Links are not followed: what they point to is not ours to change.
    if (entry.isDirectory() || entry.isFile()) tighten(file, fs.lstatSync(file))
  }
  return tightened
}

/** SECRETS_KEY, or the key kept in DATA_DIR/secrets.key (created 0600 on first start). */
export function loadSecretsKey(config: Config): Buffer {
  if (config.secretsKey) return config.secretsKey
  const file = path.join(config.dataDir, 'secrets.key')
  const read = () => {
    const key = parseSecretsKey(fs.readFileSync(file, 'utf8'))
    if (!key) throw new Error(`${file} does not hold a 32-byte key (base64 or hex)`)
    return key
  }
  try {
    return read()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  fs.mkdirSync(config.dataDir, { recursive: true, mode: PRIVATE_DIR })
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: PRIVATE_FILE, flag: 'wx' })
  } catch (err) {
    // Another process starting at the same moment wrote it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  return read()
}
