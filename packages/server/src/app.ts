/**
 * `buildApp(options)`: the whole server, without listening. Tests drive it with `inject`;
 * `main.ts` adds configuration, migrations and `listen`.
 */
import type { Server } from 'node:http'
import Fastify, { type FastifyInstance } from 'fastify'
import cors from '@fastify/cors'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ErrorBodySchema } from '@bambu-cloud/protocol'
import type { Config } from './config.ts'
import type { DatabaseHandle } from './db/database.ts'
import { registerAuth } from './http/auth.ts'
import { registerBodyParsers } from './http/body.ts'
import { frameworkErrors, registerErrorHandling } from './http/errors.ts'
import { loggerOptions } from './http/logging.ts'
import { connectionOptions, enforceRequestTimeout } from './http/timeouts.ts'
import type { App, RouteAuth } from './http/types.ts'
import { registerValidation } from './http/validation.ts'
import { SecretBox } from './lib/secret-box.ts'
import { createServices } from './services/index.ts'
import adminDeviceRoutes from './routes/admin/devices.ts'
import bindRoutes from './routes/iot-service/bind.ts'
import deviceRoutes from './routes/iot-service/device.ts'
import iotTaskRoutes from './routes/iot-service/task.ts'
import assetRoutes from './routes/system/assets.ts'
import fileRoutes from './routes/system/files.ts'
import messageRoutes from './routes/user-service/messages.ts'
import myTicketRoutes from './routes/user-service/my-ticket.ts'
import taskRoutes from './routes/user-service/tasks.ts'
import adminSlicerRoutes from './routes/admin/slicer.ts'
import adminUserRoutes from './routes/admin/users.ts'
import preferenceRoutes from './routes/design-user-service/preference.ts'
import notificationRoutes from './routes/iot-service/notification.ts'
import projectRoutes from './routes/iot-service/project.ts'
import uploadRoutes from './routes/iot-service/upload.ts'
import slicerResourceRoutes from './routes/iot-service/slicer-resource.ts'
import slicerSettingRoutes from './routes/iot-service/slicer-setting.ts'
import healthRoutes from './routes/system/health.ts'
import loginRoutes from './routes/user-service/login.ts'
import myRoutes from './routes/user-service/my.ts'
import ticketRoutes from './routes/user-service/ticket.ts'
import csrfRoutes from './routes/web/csrf.ts'
import signInApiRoutes from './routes/web/sign-in-api.ts'
import signInPageRoutes from './routes/web/sign-in-page.ts'

export interface BuildOptions {
  config: Config
  database: DatabaseHandle
  /** The operator's admin token (main.ts resolves or generates it). */
  adminToken: string
  /** The key sealing secrets at rest (SECRETS_KEY or DATA_DIR/secrets.key). */
  secretsKey: Buffer
  /** Epoch milliseconds; tests move it. */
  now?: () => number
  /** Overrides the logger: false for none, or a stream to write JSON lines to (tests). */
  logger?: false | { stream: NodeJS.WritableStream }
  /** Destroy the database connection when the app closes (main owns it; tests may share it). */
  closeDatabase?: boolean
}

/** The cloud's web host mirrors every `/v1/...` route under `/api/v1/...`. */
function rewriteUrl(url: string): string {
  return url.startsWith('/api/v1/') ? url.slice(4) : url
}

export async function buildApp(options: BuildOptions): Promise<FastifyInstance> {
  const { config, database } = options
  const fastify = Fastify({
    logger:
      options.logger === false
        ? false
        : { ...(loggerOptions(config.logLevel) as object), ...(options.logger ? { stream: options.logger.stream } : {}) },
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    rewriteUrl: (req) => rewriteUrl(req.url ?? '/'),
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ...connectionOptions(config.timeouts),
    frameworkErrors,
  })
  enforceRequestTimeout(fastify.server as Server, config.timeouts.requestMs, fastify.log)
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>() as unknown as App

  const services = createServices({ config, database, now: options.now ?? Date.now, log: app.log, secrets: new SecretBox(options.secretsKey) })
  app.decorate('services', services)
  app.decorate('config', config)
  app.decorate('database', database)
  app.decorate('routeTable', [])
  app.decorate('mqtt', null)
  app.decorate('bridge', null)
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) {
      if (method === 'HEAD') continue
      // Read lazily: hooks of inner scopes (the docs) still adjust the config after this one.
      app.routeTable.push({
        method,
        url: route.url,
        get auth(): RouteAuth {
          return (route.config as { auth?: RouteAuth } | undefined)?.auth ?? 'user'
        },
      })
    }
  })
  // Abandoned uploads and files of deleted projects go; notified uploads a restart cut off resume.
  const sweepEvery = Math.min(config.uploadAbandonAfter * 250, 10 * 60_000)
  const sweeper = setInterval(() => {
    services.uploads.sweep().catch((err: unknown) => app.log.error({ err }, 'file sweep failed'))
  }, sweepEvery)
  sweeper.unref()
  app.addHook('onReady', async () => {
    // Not fatal: /healthz reports a database that is not there (or not migrated) yet.
    await services.uploads.resume().catch((err: unknown) => app.log.warn({ err }, 'could not resume pending uploads'))
  })
  app.addHook('onClose', async () => {
    // First the bridge (its printers go offline), then the broker writes its queued reports and printers' presence.
    await app.bridge?.close()
    await app.mqtt?.close()
    clearInterval(sweeper)
    await services.uploads.close()
    await services.mailer.close()
    if (options.closeDatabase) await database.db.destroy()
  })

  registerErrorHandling(app)
  registerValidation(app)
  registerBodyParsers(app)
  registerAuth(app, options.adminToken)
  app.addSchema(ErrorBodySchema)

  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      exposedHeaders: ['Retry-After'],
      maxAge: 600,
    })
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'bambu-cloud',
        version: '0.1.0',
        description:
          'A self-hosted server speaking the Bambu Lab cloud API. Every `/v1/...` path is also served under `/api/v1/...`.',
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An access token from a login' },
          admin: { type: 'http', scheme: 'bearer', description: 'The ADMIN_TOKEN' },
        },
      },
    },
    transform: ({ schema, route }) => {
      const auth = (route.config as { auth?: RouteAuth } | undefined)?.auth ?? 'user'
      const base = (schema ?? {}) as Record<string, unknown>
      const security = auth === 'none' ? [] : [{ [auth === 'admin' ? 'admin' : 'bearer']: [] }]
      return { schema: { ...base, security } as typeof schema, url: route.url }
    },
  })

  // Documentation is public; its routes are declared open inside their own scope.
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), auth: 'none' }
    })
    docs.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
    await docs.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  })

  await app.register(healthRoutes)
  await app.register(loginRoutes)
  await app.register(ticketRoutes)
  await app.register(myRoutes)
  await app.register(preferenceRoutes)
  await app.register(csrfRoutes)
  await app.register(signInApiRoutes)
  await app.register(signInPageRoutes)
  await app.register(slicerResourceRoutes)
  await app.register(slicerSettingRoutes)
  await app.register(bindRoutes)
  await app.register(deviceRoutes)
  await app.register(iotTaskRoutes)
  await app.register(taskRoutes)
  await app.register(messageRoutes)
  await app.register(myTicketRoutes)
  await app.register(assetRoutes)
  await app.register(adminDeviceRoutes)
  await app.register(projectRoutes)
  await app.register(notificationRoutes)
  await app.register(uploadRoutes)
  await app.register(fileRoutes)
  await app.register(adminUserRoutes)
  await app.register(adminSlicerRoutes)

  await app.ready()
  return app as unknown as FastifyInstance
}
