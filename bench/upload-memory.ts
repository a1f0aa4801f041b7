/**
 * Upload memory: PUTs a 100 MiB 3MF to a spawned server (main.ts, as `npm start` runs it),
 * lets it process the file and downloads it back, reading the server's peak RSS (VmHWM)
 * before and after. Uploads stream to disk and only metadata is inflated, so the peak
 * should barely move. A measurement, not a test: it always exits 0 once it has a figure.
 *
 *   node --conditions=source --import tsx bench/upload-memory.ts
 *   BENCH_UPLOAD_MIB=400 node --conditions=source --import tsx bench/upload-memory.ts
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { fixtureEntries } from '../packages/server/test/helpers/three-mf.ts'
import { writeZip, type ZipInput } from '../packages/server/src/lib/zip-writer.ts'
import { killAll, peakRss, startServer } from './procs.ts'

/** BENCH_UPLOAD_MIB changes the size (e.g. to see the peak stay put as the file grows). */
const SIZE = Number(process.env.BENCH_UPLOAD_MIB ?? 100) * 1024 * 1024
const ADMIN = 'bench-admin-token-0123456789'
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

function currentRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : 0
}

/** A sliced one-plate project's metadata and thumbnails, as Bambu Studio lays them out. */
const METADATA: ZipInput[] = [
  ...fixtureEntries({ plates: [{ index: 1, prediction: 7200, weight: '55.00', filaments: [{ id: '1', type: 'PLA', color: '#00AE42', used_m: '18.40', used_g: '55.00' }] }] }),
].map(([name, data]) => ({ name, data }))

/** That 3MF at exactly `size` bytes: the G-code entry (stored) takes up the rest. */
function bigThreeMf(size: number): Buffer {
  const gcode = (n: number): ZipInput => ({ name: 'Metadata/plate_1.gcode', data: Buffer.alloc(n, 'G1 X120.512 Y98.004 E0.03121\n'), method: 'store' })
  return writeZip([...METADATA, gcode(size - writeZip([...METADATA, gcode(0)]).length)])
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bambu-upload-bench-'))
  const file = path.join(dir, 'big.3mf')
  fs.writeFileSync(file, bigThreeMf(SIZE))
  const size = fs.statSync(file).size
  const server = await startServer([], { DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`, DATA_DIR: dir, ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn', MAX_UPLOAD_BYTES: String(Math.max(SIZE, 200 * 1024 * 1024)) })
  const base = `http://127.0.0.1:${server.port}`
  try {
    const json = async (method: string, url: string, token: string, body?: unknown) => {
      const res = await fetch(base + url, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`)
      return res.json() as Promise<any>
    }
    await json('POST', '/admin/v1/users', ADMIN, { account: 'bench@example.com', password: 'a long bench password' })
    const { accessToken } = await (await fetch(`${base}/v1/user-service/user/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: 'bench@example.com', password: 'a long bench password' }) })).json() as { accessToken: string }

    const upload = async (bytes: () => Readable, length: number) => {
      const project = await json('POST', '/v1/iot-service/api/user/project', accessToken, { name: 'big.3mf' })
      const put = await fetch(project.upload_url, { method: 'PUT', body: Readable.toWeb(bytes()) as ReadableStream, duplex: 'half', headers: { 'content-length': String(length) } } as RequestInit)
      if (put.status !== 200) throw new Error(`PUT: ${put.status} ${await put.text()}`)
      await json('PUT', '/v1/iot-service/api/user/notification', accessToken, { upload: { ticket: project.upload_ticket, origin_file_name: 'big.3mf' } })
      for (;;) {
        const res = await fetch(`${base}/v1/iot-service/api/user/notification?action=upload&ticket=${project.upload_ticket}`, { headers: { authorization: `Bearer ${accessToken}` } })
        const body = await res.json() as { message?: string }
        if (res.status !== 200) throw new Error(`processing failed: ${JSON.stringify(body)}`)
        if (body.message === 'success') break
        await new Promise((r) => setTimeout(r, 50))
      }
      return json('GET', `/v1/iot-service/api/user/project/${project.project_id}`, accessToken)
    }

    // Warm up every code path on a small file first, so "before" includes them.
    const small = writeZip(METADATA)
    await upload(() => Readable.from([small]), small.length)
    const before = peakRss(server.pid)
    const t0 = performance.now()
    const project = await upload(() => fs.createReadStream(file), size)
    const seconds = (performance.now() - t0) / 1000
    const afterUpload = peakRss(server.pid)
    const down = await fetch(project.download_url)
    let downloaded = 0
    for await (const chunk of down.body as unknown as AsyncIterable<Uint8Array>) downloaded += chunk.length
    const afterDownload = peakRss(server.pid)
    if (downloaded !== size) throw new Error(`downloaded ${downloaded} of ${size} bytes`)

    process.stdout.write(
      [
        `# Upload memory (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, SQLite)`,
        '',
        `A ${mib(size)} 3MF (metadata + a ${mib(size)} stored G-code entry): PUT, notify, processed, downloaded back.`,
        '',
        '| server peak RSS (VmHWM) | |',
        '|---|---|',
        `| before the upload (after a small warm-up upload) | ${mib(before)} |`,
        `| after the upload and its processing | ${mib(afterUpload)} (+${mib(afterUpload - before)}) |`,
        `| after downloading it back | ${mib(afterDownload)} (+${mib(afterDownload - before)}) |`,
        `| current RSS at the end | ${mib(currentRss(server.pid))} |`,
        '',
        `Upload + processing took ${seconds.toFixed(2)} s.`,
        '',
      ].join('\n'),
    )
  } finally {
    await server.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  killAll()
  process.stderr.write(`upload-memory: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
