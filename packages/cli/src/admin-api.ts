/**
 * A small client of the admin API (`/admin/v1`), which the SDK does not cover. It rides on
 * the SDK's public `request` with the admin token as the bearer token (there is no refresh
 * token, so a refused token is simply a 401), and so shares its transport, timeouts,
 * retries and error classes.
 */
import { BambuCloud, path } from '@bambu-cloud/client'
import type {
  AdminDevice as AdminDeviceSchema,
  AdminDeviceCreate,
  AdminDevicePatch,
  AdminFirmware as AdminFirmwareSchema,
  AdminSettingCreate,
  AdminUser,
  AdminUserCreate,
  AdminUserPatch,
  OutboxMessage as OutboxMessageSchema,
} from '@bambu-cloud/protocol'

export type AdminDevice = (typeof AdminDeviceSchema)['static']
export type AdminFirmware = (typeof AdminFirmwareSchema)['static']
export type OutboxMessage = (typeof OutboxMessageSchema)['static']
export type { AdminUser }

/**
 * @example
 * const admin = new AdminApi('http://localhost:8080', process.env.BAMBU_ADMIN_TOKEN!)
 * const user = await admin.createUser({ account: 'ada@example.com', password, login_policy: 'tfa' })
 * console.log(user.tfa_secret)
 */
export class AdminApi {
  readonly #cloud: BambuCloud

  constructor(baseUrl: string, adminToken: string) {
    this.#cloud = new BambuCloud({ baseUrl, accessToken: adminToken })
  }

  async listUsers(): Promise<AdminUser[]> {
    return (await this.#get<{ users: AdminUser[] }>('/admin/v1/users')).users
  }

  getUser(uid: number): Promise<AdminUser> {
    return this.#get(path`/admin/v1/users/${uid}`)
  }

  createUser(body: AdminUserCreate): Promise<AdminUser> {
    return this.#send('POST', '/admin/v1/users', body)
  }

  updateUser(uid: number, body: AdminUserPatch): Promise<AdminUser> {
    return this.#send('PATCH', path`/admin/v1/users/${uid}`, body)
  }

  async deleteUser(uid: number): Promise<void> {
    await this.#send('DELETE', path`/admin/v1/users/${uid}`)
  }

  /** Login codes kept when the server has no SMTP, newest first. */
  async outbox(account?: string): Promise<OutboxMessage[]> {
    const reply = await this.#cloud.request<{ messages: OutboxMessage[] }>({ method: 'GET', path: '/admin/v1/outbox', query: { account } })
    return reply.messages
  }

  async listDevices(): Promise<AdminDevice[]> {
    return (await this.#get<{ devices: AdminDevice[] }>('/admin/v1/devices')).devices
  }

  getDevice(devId: string): Promise<AdminDevice> {
    return this.#get(path`/admin/v1/devices/${devId}`)
  }

  addDevice(body: AdminDeviceCreate): Promise<AdminDevice> {
    return this.#send('POST', '/admin/v1/devices', body)
  }

  updateDevice(devId: string, body: AdminDevicePatch): Promise<AdminDevice> {
    return this.#send('PATCH', path`/admin/v1/devices/${devId}`, body)
  }

  async removeDevice(devId: string): Promise<void> {
    await this.#send('DELETE', path`/admin/v1/devices/${devId}`)
  }

  /** Applies one report exactly as a printer publishes it (`{"print":{"command":"push_status",...}}`). */
  async report(devId: string, report: Record<string, unknown>): Promise<void> {
    await this.#send('POST', path`/admin/v1/devices/${devId}/report`, report)
  }

  async setOnline(devId: string, online: boolean): Promise<void> {
    await this.#send('POST', path`/admin/v1/devices/${devId}/online`, { online })
  }

  addFirmware(body: { dev_model_name: string; version: string; url: string; description?: string; force_update?: boolean }): Promise<AdminFirmware> {
    return this.#send('POST', '/admin/v1/firmware', body)
  }

  /** Publishes a preset to every user. */
  addSetting(body: AdminSettingCreate): Promise<{ setting_id: string }> {
    return this.#send('POST', '/admin/v1/slicer/settings', body)
  }

  #get<T>(route: string): Promise<T> {
    return this.#cloud.request<T>({ method: 'GET', path: route })
  }

  #send<T>(method: 'POST' | 'PATCH' | 'DELETE', route: string, body?: unknown): Promise<T> {
    return this.#cloud.request<T>({ method, path: route, body })
  }
}
