/**
 * `cloud.projects`: your cloud projects and their sliced profiles (iot-service
 * `user/project`, `user/profile`). Ids are decimal strings on the wire; numbers work too.
 */
import type { ProjectListItem } from '@bambu-cloud/protocol'
import { sleep } from '../core/abort.ts'
import { BambuCloudError } from '../core/errors.ts'
import { path } from '../core/path.ts'
import { APIResource } from '../core/resource.ts'
import type { RequestOptions } from '../core/transport.ts'
import type { CreatedProject, ProjectDetail, ProjectProfileDetail, UploadUrl } from '../types.ts'

const USER = '/v1/iot-service/api/user'

/** A 3MF to upload: a `Blob` (a `File`, or `fs.openAsBlob(path)` in Node, which reads from disk as it goes) or bytes. */
export type UploadSource = Blob | Uint8Array | ArrayBuffer

/** Where `projects.upload` is. `loaded`/`total` are bytes while a file goes up, else 0. */
export interface UploadProgress {
  stage: 'create' | 'upload' | 'process' | 'plate' | 'done'
  loaded: number
  total: number
  /** The plate whose print-ready file is going up (stage `plate`). */
  plate?: number
}

export interface UploadOptions extends RequestOptions {
  /** The project's name. */
  name: string
  /** The file name the server is told (`origin_file_name`). Default: the `File`'s name, else `name`. */
  fileName?: string
  /**
   * The plates to send print-ready files for (Studio's second upload and PATCH). Default
   * `'sliced'`: every plate the 3MF holds G-code for. `[]` skips the step.
   */
  plates?: number[] | 'sliced'
  /** Called as the upload moves on. Byte counts while a file goes up need a fetch that streams request bodies (Node's does). */
  onProgress?: (progress: UploadProgress) => void
  /** Between polls of the processing status, milliseconds. Default 1000. */
  pollIntervalMs?: number
  /** How long processing may take before the upload fails, milliseconds. Default 10 minutes. */
  processingTimeoutMs?: number
}

/** What `projects.upload` made: the ids, and the project as the server now shows it. */
export interface UploadedProject {
  project_id: string
  model_id: string
  profile_id: string
  /** The plates a print-ready file was attached to. */
  plates: number[]
  project: ProjectDetail
}

export class Projects extends APIResource {
  /**
   * Your projects, newest first (`GET user/project`).
   *
   * @example
   * for (const p of await cloud.projects.list()) console.log(p.project_id, p.name)
   */
  async list(options?: RequestOptions): Promise<ProjectListItem[]> {
    const reply = await this.client.request<{ projects: ProjectListItem[] }>({ method: 'GET', path: '/v1/iot-service/api/user/project' }, options)
    return reply.projects
  }

  /**
   * One project with its profiles (`GET user/project/{id}`).
   *
   * @example
   * const { name, profiles } = await cloud.projects.get('123')
   */
  get(id: string | number, options?: RequestOptions): Promise<ProjectDetail> {
    return this.client.request({ method: 'GET', path: path`/v1/iot-service/api/user/project/${id}` }, options)
  }

  /**
   * One profile with the 3MF behind it (`GET user/profile/{id}`); given `modelId`, it must be the profile's.
   *
   * @example
   * const { context, url } = await cloud.projects.profile(profile.profile_id, profile.model_id)
   */
  profile(id: string | number, modelId?: string, options?: RequestOptions): Promise<ProjectProfileDetail> {
    return this.client.request(
      { method: 'GET', path: path`/v1/iot-service/api/user/profile/${id}`, query: { model_id: modelId } },
      options,
    )
  }

  /**
   * Creates an empty project and its first profile (`POST user/project`); the answer holds
   * where to PUT the 3MF (`upload_url`) and the ticket naming the upload. `upload` runs
   * the whole sequence; this is the first step alone.
   *
   * @example
   * const { project_id, upload_url, upload_ticket } = await cloud.projects.create({ name: 'Bracket' })
   */
  create(body: { name: string; [field: string]: unknown }, options?: RequestOptions): Promise<CreatedProject> {
    return this.client.request({ method: 'POST', path: `${USER}/project`, body }, options)
  }

  /**
   * Uploads a 3MF the way Bambu Studio does: creates the project, PUTs the file, reports it
   * (`PUT user/notification`), polls until the server has read it, names the sliced plates
   * in `PATCH user/project/{id}`, then for each asks for an upload URL (`user/upload`),
   * PUTs the print-ready file and names that in a second PATCH. Rejects with the server's error when the file is refused.
   * A print can then be started with `user.tasks.create` and the plate's ids.
   *
   * @example
   * import { openAsBlob } from 'node:fs'
   * const up = await cloud.projects.upload(await openAsBlob('bracket.3mf'), { name: 'Bracket' })
   * console.log(up.project_id, up.project.profiles[0]?.context)
   */
  async upload(file: UploadSource, options: UploadOptions): Promise<UploadedProject> {
    const { name, onProgress = () => {}, pollIntervalMs = 1000, processingTimeoutMs = 600_000 } = options
    const request: RequestOptions = { signal: options.signal, timeoutMs: options.timeoutMs, maxRetries: options.maxRetries }
    // Blob copies the bytes (a shared buffer included), so a later change to `file` cannot tear the upload.
    const blob = file instanceof Blob ? file : new Blob([file as BlobPart])
    const fileName = options.fileName ?? (typeof File !== 'undefined' && file instanceof File && file.name !== '' ? file.name : name)

    onProgress({ stage: 'create', loaded: 0, total: 0 })
    const created = await this.create({ name }, request)
    await this.putFile(created.upload_url, blob, (loaded) => onProgress({ stage: 'upload', loaded, total: blob.size }), options)
    onProgress({ stage: 'process', loaded: 0, total: 0 })
    await this.client.request(
      { method: 'PUT', path: `${USER}/notification`, body: { upload: { origin_file_name: fileName, ticket: created.upload_ticket } } },
      request,
    )
    await this.untilProcessed(created.upload_ticket, pollIntervalMs, processingTimeoutMs, options.signal, request)

    let project = await this.get(created.project_id, request)
    const plates = options.plates === undefined || options.plates === 'sliced' ? slicedPlates(project, created.profile_id) : options.plates
    if (plates.length > 0) {
      // As Studio does: first the plates are named in the project's own file...
      await this.client.request(
        {
          method: 'PATCH',
          path: USER + path`/project/${created.project_id}`,
          body: { profile_id: created.profile_id, profile_print_3mf: plates.map((plate) => ({ plate_idx: plate, url: created.upload_url })) },
        },
        request,
      )
      // ...then each gets a print-ready file of its own.
      const names = plates.map((plate) => `${created.model_id}_${created.profile_id}_${plate}.3mf`)
      const { urls } = await this.client.request<{ urls: UploadUrl[] }>(
        { method: 'GET', path: `${USER}/upload`, query: { models: names.join(',') } },
        request,
      )
      const prints = []
      for (const [i, plate] of plates.entries()) {
        const url = urls.find((u) => u.file === names[i])?.url ?? urls[i]?.url
        if (url === undefined) throw new BambuCloudError(`the server gave no upload URL for plate ${plate}`)
        await this.putFile(url, blob, (loaded) => onProgress({ stage: 'plate', plate, loaded, total: blob.size }), options)
        prints.push({ plate_idx: plate, url })
      }
      await this.client.request(
        { method: 'PATCH', path: USER + path`/project/${created.project_id}`, body: { profile_id: created.profile_id, profile_print_3mf: prints } },
        request,
      )
      project = await this.get(created.project_id, request)
    }
    onProgress({ stage: 'done', loaded: blob.size, total: blob.size })
    return { project_id: created.project_id, model_id: created.model_id, profile_id: created.profile_id, plates, project }
  }

  /**
   * The project's 3MF (`download_url` of `GET user/project/{id}`), as a response whose body
   * streams the file; `download_md5` of the project is its MD5.
   *
   * @example
   * const res = await cloud.projects.download('123')
   * await fs.promises.writeFile('bracket.3mf', Buffer.from(await res.arrayBuffer()))
   */
  async download(id: string | number, options?: RequestOptions): Promise<Response> {
    const project = await this.get(id, options)
    if (!project.download_url) throw new BambuCloudError(`project ${id} has no file yet`)
    return this.client.fetchSignedUrl(project.download_url, { method: 'GET' }, options)
  }

  /** PUTs a file to a signed URL with its length known up front, as presigned URLs require. */
  private async putFile(url: string, blob: Blob, progress: (loaded: number) => void, options: UploadOptions): Promise<void> {
    const streamed = options.onProgress !== undefined && typeof blob.stream === 'function'
    const init = (): RequestInit => {
      progress(0)
      if (!streamed) return { method: 'PUT', body: blob }
      let loaded = 0
      const counted = blob.stream().pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            loaded += chunk.byteLength
            progress(loaded)
            controller.enqueue(chunk)
          },
        }),
      )
      // A stream body needs `duplex`; the length header keeps it one plain (not chunked) request.
      return { method: 'PUT', body: counted, headers: { 'content-length': String(blob.size) }, duplex: 'half' } as RequestInit
    }
    const response = await this.client.fetchSignedUrl(url, init, { signal: options.signal, timeoutMs: options.timeoutMs, maxRetries: options.maxRetries })
    await response.body?.cancel()
    if (!streamed) progress(blob.size)
  }

  /** Polls `GET user/notification` until the upload is read; a refused file rejects with the server's error. */
  private async untilProcessed(ticket: string, intervalMs: number, timeoutMs: number, signal: AbortSignal | undefined, request: RequestOptions): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const status = await this.client.request<{ message: string }>(
        { method: 'GET', path: `${USER}/notification`, query: { action: 'upload', ticket } },
        request,
      )
      if (status.message !== 'running') return
      if (Date.now() >= deadline) throw new BambuCloudError(`the server was still processing the upload after ${timeoutMs} ms`)
      await sleep(intervalMs, signal)
    }
  }
}

/** The plates of the uploaded profile that have G-code. */
function slicedPlates(project: ProjectDetail, profileId: string): number[] {
  const profile = project.profiles.find((p) => p.profile_id === profileId)
  const plates = (profile?.context as { plates?: { index: number; gcode?: { name: string | null } }[] } | undefined)?.plates ?? []
  return plates.filter((p) => p.gcode?.name).map((p) => p.index)
}
