/**
 * `cloud.devices`: your printers (iot-service `user/bind`, `user/device/...`, `user/print`,
 * `user/ttcode`). Answers that are only the envelope around a `devices` array resolve to
 * that array.
 */
import type { BoundDevice } from '@bambu-cloud/protocol'
import { APIResource } from '../core/resource.ts'
import type { RequestOptions } from '../core/transport.ts'
import type { DeviceFirmware, DevicePrint, Ttcode } from '../types.ts'
import { controlPrint, watchDevice, type ControlOptions, type DeviceState, type WatchOptions } from './device-live.ts'

const USER = '/v1/iot-service/api/user'

export class Devices extends APIResource {
  /**
   * Your printers (`GET user/bind`).
   *
   * @example
   * for (const device of await cloud.devices.list()) console.log(device.dev_id, device.online, device.print_status)
   */
  async list(options?: RequestOptions): Promise<BoundDevice[]> {
    const reply = await this.client.request<{ devices: BoundDevice[] }>({ method: 'GET', path: `${USER}/bind` }, options)
    return reply.devices
  }

  /**
   * Unbinds one of your printers (`DELETE user/bind`); your history of it stays yours.
   *
   * @example
   * await cloud.devices.unbind('01P00A000000001')
   */
  async unbind(devId: string, options?: RequestOptions): Promise<void> {
    await this.client.request({ method: 'DELETE', path: `${USER}/bind`, body: { dev_id: devId, force: false } }, options)
  }

  /**
   * Renames one of your printers (`PATCH user/device/info`).
   *
   * @example
   * await cloud.devices.rename('01P00A000000001', 'Workshop X1C')
   */
  async rename(devId: string, name: string, options?: RequestOptions): Promise<void> {
    await this.client.request({ method: 'PATCH', path: `${USER}/device/info`, body: { dev_id: devId, dev_name: name } }, options)
  }

  /**
   * Firmware of one printer, or of all of yours without `devId` (`GET user/device/version`):
   * the current version and the model's catalog, newest first.
   *
   * @example
   * const [printer] = await cloud.devices.firmware('01P00A000000001')
   * console.log(printer?.version, printer?.firmware[0]?.version)
   */
  async firmware(devId?: string, options?: RequestOptions): Promise<DeviceFirmware[]> {
    const reply = await this.client.request<{ devices: DeviceFirmware[] }>(
      { method: 'GET', path: `${USER}/device/version`, query: { dev_id: devId } },
      options,
    )
    return reply.devices
  }

  /**
   * Each printer's live print (`GET user/print?force=true`); task fields are null while idle.
   *
   * @example
   * for (const p of await cloud.devices.printStatus()) console.log(p.dev_name, p.task_status, p.progress)
   */
  async printStatus(options?: RequestOptions): Promise<DevicePrint[]> {
    const reply = await this.client.request<{ devices: DevicePrint[] }>({ method: 'GET', path: `${USER}/print`, query: { force: true } }, options)
    return reply.devices
  }

  /**
   * Camera-service codes of one printer (`POST user/ttcode`).
   *
   * @example
   * const { ttcode, passwd, authkey } = await cloud.devices.ttcode('01P00A000000001')
   */
  ttcode(devId: string, options?: RequestOptions): Promise<Ttcode> {
    return this.client.request({ method: 'POST', path: `${USER}/ttcode`, body: { dev_id: devId } }, options)
  }

  /**
   * The printer's state as it reports it, live over the MQTT broker: each report merged
   * into what came before (P1 and A1 printers send only what changed), starting with a full
   * one (`pushall`). Ends when `signal` aborts or the loop breaks; needs the `mqtt` package.
   *
   * @example
   * for await (const state of cloud.devices.watch('01P00A000000001', { signal })) {
   *   console.log(state.print?.gcode_state, state.print?.mc_percent)
   * }
   */
  watch(devId: string, options?: WatchOptions): AsyncGenerator<DeviceState, void, undefined> {
    return watchDevice(this.client, devId, options)
  }

  /**
   * Pauses the printer's print through the MQTT broker; resolves when the printer confirms,
   * rejects with a `PrintControlError` when it refuses or does not answer.
   *
   * @example
   * await cloud.devices.pause('01P00A000000001')
   */
  pause(devId: string, options?: ControlOptions): Promise<void> {
    return controlPrint(this.client, devId, 'pause', options)
  }

  /** Resumes a paused print (as `pause`). */
  resume(devId: string, options?: ControlOptions): Promise<void> {
    return controlPrint(this.client, devId, 'resume', options)
  }

  /** Stops the print for good (as `pause`); the printer then reports it FAILED. */
  stop(devId: string, options?: ControlOptions): Promise<void> {
    return controlPrint(this.client, devId, 'stop', options)
  }
}
