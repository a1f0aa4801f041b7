/**
 * Signed file URLs, `/files/<project>/<file>[/<entry>]`: the PUT a slicer uploads a 3MF to
 * and the GETs of everything the project and profile link to (the 3MF, and its thumbnails,
 * configs and G-code read out of it). The signature is the credential (auth `none`).
 * Bodies of PUTs stream to storage: this plugin has its own content-type handling, so the
 * JSON parsers never see (or buffer) them, whatever Content-Type the client sends.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ApiError } from '../../errors.ts'
import { abandonBody, declaredLength, uploadBody } from '../../http/upload-body.ts'
import type { App } from '../../http/types.ts'
import { parseUploadTarget } from '../../services/print-files.ts'

const tags = ['files (signed URLs)']

interface FileParams {
  project_id: string
  file: string
  '*'?: string
}

function contentType(name: string): string {
  if (name.endsWith('.png')) return 'image/png'
  if (name.endsWith('.gcode')) return 'text/plain; charset=utf-8'
  if (name.endsWith('project_settings.config')) return 'application/json'
  if (name.endsWith('.config')) return 'application/xml'
  if (name.endsWith('.3mf')) return 'model/3mf'
  return 'application/octet-stream'
}

const pathOf = (request: FastifyRequest) => request.url.split('?', 1)[0]!

export default async function fileRoutes(app: App) {
  const { uploads, printFiles, files } = app.services

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))

  app.put<{ Params: FileParams }>(
    '/files/:project_id/:file',
    {
      config: { auth: 'none' },
      schema: { tags, summary: 'Upload a 3MF to a signed URL (from `user/project` or `user/upload`); any or no Content-Type' },
      // A presigned URL takes any label; one Fastify cannot parse must not turn the file away.
      onRequest: async (request) => {
        delete request.raw.headers['content-type']
      },
      onError: async (request, reply) => abandonBody(request, reply),
    },
    async (request, reply) => {
      await files.checkSignature('PUT', pathOf(request), request.query as Record<string, unknown>)
      const target = parseUploadTarget(request.params.project_id, request.params.file)
      if (!target) throw new ApiError('notFound', 'No such upload')
      const body = uploadBody(request.raw, app.config.timeouts)
      const length = declaredLength(request)
      const info = target.kind === 'project' ? await uploads.receive(target, body, length) : await printFiles.receive(target, body, length)
      return reply.code(200).header('etag', `"${info.md5}"`).send()
    },
  )

  async function download(request: FastifyRequest<{ Params: FileParams }>, reply: FastifyReply) {
    // HEAD reads as GET; Fastify drains the stream and keeps the Content-Length.
    await files.checkSignature('GET', pathOf(request), request.query as Record<string, unknown>)
    const { stream, size, name } = await files.open(request.params.project_id, request.params.file, request.params['*'])
    return reply
      .header('content-type', contentType(name))
      .header('content-length', size)
      // A link's content never changes (a new file gets a new link).
      .header('cache-control', 'private, max-age=31536000, immutable')
      .send(stream)
  }

  const downloadSchema = { tags, summary: 'Download a file a project or profile links to (signed; does not expire)' }
  app.get<{ Params: FileParams }>('/files/:project_id/:file', { config: { auth: 'none' }, schema: downloadSchema }, download)
  app.get<{ Params: FileParams }>('/files/:project_id/:file/*', { config: { auth: 'none' }, schema: downloadSchema }, download)
}
