/** The Fastify instance type every route plugin receives. */
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from '../config.ts'
import type { Services } from '../services/index.ts'
import type { Principal } from '../services/tokens.ts'
import type { DatabaseHandle } from '../db/database.ts'
import type { MqttBroker } from '../mqtt/broker.ts'
import type { LanBridge } from '../bridge/lan-bridge.ts'

/** Who may call a route: anyone, a user with a Bearer token, or the operator's admin token. */
export type RouteAuth = 'none' | 'user' | 'admin'

export interface RouteInfo {
  method: string
  url: string
  auth: RouteAuth
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth
  }
  interface FastifyInstance {
    services: Services
    config: Config
    database: DatabaseHandle
    /** Every route registered, with who may call it (tests walk it). */
    routeTable: RouteInfo[]
    /** The MQTT broker once one is started (`main`, tests); closed with the app, before the database. */
    mqtt: MqttBroker | null
    /** The LAN bridge once one is started (after the broker); closed with the app, before the broker. */
    bridge: LanBridge | null
  }
  interface FastifyRequest {
    principal: Principal | null
  }
}

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

/** The signed-in user of a route that requires one. */
export function principalOf(request: { principal: Principal | null }): Principal {
  if (!request.principal) throw new Error('route requires auth but no principal was set')
  return request.principal
}
