/**
 * @bambu-cloud/client: a typed SDK for the Bambu Lab cloud HTTP API and for bambu-cloud
 * servers. Runs in Node.js 20+ and browsers (global fetch); its types come from
 * @bambu-cloud/protocol, with the wire's own field names.
 *
 * @example
 * import { BambuCloud } from '@bambu-cloud/client'
 * const cloud = new BambuCloud({ baseUrl: 'http://localhost:8080', accessToken, refreshToken })
 * console.log(await cloud.devices.list())
 */
export { BambuCloud, REGION_BASE_URLS, REGION_MQTT_URLS, type BambuCloudOptions, type Region } from './client.ts'
export type { MqttOptions } from './core/mqtt.ts'
export { PrintControlError, type ControlOptions, type DeviceState, type WatchOptions } from './resources/device-live.ts'
export {
  AuthenticationError,
  BadRequestError,
  BambuApiError,
  BambuCloudError,
  ConnectionError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  TimeoutError,
  UnprocessableEntityError,
} from './core/errors.ts'
export { path, queryString, type QueryValue } from './core/path.ts'
export type { ApiRequest, FetchFunction, HttpMethod, RequestOptions } from './core/transport.ts'
export type { Tokens, TokensListener } from './core/session.ts'
export { Auth, type LoginResult } from './resources/auth.ts'
export { Devices } from './resources/devices.ts'
export { Projects, type UploadedProject, type UploadOptions, type UploadProgress, type UploadSource } from './resources/projects.ts'
export { Settings, Slicer } from './resources/slicer.ts'
export { Messages, Tasks, User } from './resources/user.ts'
export type * from './types.ts'
