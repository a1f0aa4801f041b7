/**
 * A printer's live state and print controls over the cloud's MQTT broker, logged in as
 * `u_<uid>` with the client's access token. `devices.watch`, `devices.pause`, `resume` and
 * `stop` are built on these.
 */
import {
  mergeReport,
  printControlRequest,
  pushallRequest,
  reportTopic,
  requestTopic,
  type PrintControl,
  type ReportObject,
} from '@bambu-cloud/protocol'
import type { BambuCloud } from '../client.ts'
import { AuthenticationError, BambuCloudError } from '../core/errors.ts'
import { connectMqtt, disconnect, isLoginRefused, publish, subscribe, type MqttConnection } from '../core/mqtt.ts'

export interface WatchOptions {
  signal?: AbortSignal
}

export interface ControlOptions {
  signal?: AbortSignal
  /** How long to wait for the printer to answer, milliseconds. Default 10000. */
  ackTimeoutMs?: number
}

/** A printer's state as its reports built it up: `print` (push_status fields), `info`, ... */
export type DeviceState = ReportObject & { print?: ReportObject }

/** A print control the printer answered with `result: "failed"`, or did not answer in time. */
export class PrintControlError extends BambuCloudError {}

/** Logged in as the client's user; the access token is re-read before each reconnect, so refreshed tokens are used. */
async function connectAsUser(cloud: BambuCloud, signal?: AbortSignal): Promise<MqttConnection> {
  const token = cloud.accessToken
  if (token === undefined) throw new AuthenticationError(401, undefined, 'not logged in')
  const { uid } = await cloud.user.preference({ signal })
  const client = await connectMqtt(cloud.mqttUrl, `u_${uid}`, token, cloud.mqttOptions, signal).catch(async (err: { code?: number | string }) => {
    if (!isLoginRefused(err) || cloud.refreshToken === undefined) throw loginError(err)
    // The broker refused the token: a refresh may bring one it takes.
    await cloud.auth.refresh({ signal })
    return connectMqtt(cloud.mqttUrl, `u_${uid}`, cloud.accessToken!, cloud.mqttOptions, signal).catch((again: { code?: number | string }) => {
      throw loginError(again)
    })
  })
  client.on('close', () => {
    if (cloud.accessToken !== undefined) client.options.password = cloud.accessToken
  })
  return client
}

function loginError(err: { code?: number | string }): unknown {
  return isLoginRefused(err) ? new AuthenticationError(401, undefined, `the MQTT broker refused the login (CONNACK ${err.code})`) : err
}

function parseReport(payload: Uint8Array): ReportObject | null {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(payload))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as ReportObject) : null
  } catch {
    return null
  }
}

/** At most this many states wait for a slow reader; older ones are dropped (the newest holds everything anyway). */
const MAX_PENDING = 100

export async function* watchDevice(cloud: BambuCloud, devId: string, options: WatchOptions = {}): AsyncGenerator<DeviceState, void, undefined> {
  const { signal } = options
  const client = await connectAsUser(cloud, signal)
  const topic = reportTopic(devId)
  let state: DeviceState = {}
  const pending: DeviceState[] = []
  let failure: unknown
  let wake: (() => void) | undefined
  const notify = () => wake?.()
  client.on('message', (from, payload) => {
    const report = from === topic ? parseReport(payload) : null
    if (report === null) return
    state = mergeReport(state, report)
    // Partial reports that beat the full one are merged, but not shown on their own.
    if (state.print?.gcode_state === undefined) return
    pending.push(state)
    if (pending.length > MAX_PENDING) pending.shift()
    notify()
  })
  client.on('error', (err) => {
    if (!isLoginRefused(err)) return
    failure = loginError(err)
    notify()
  })
  // After a reconnect, ask again for everything: reports sent meanwhile are lost.
  client.on('connect', () => void publish(client, requestTopic(devId), pushallRequest()).catch(() => {}))
  signal?.addEventListener('abort', notify)
  try {
    await subscribe(client, topic)
    await publish(client, requestTopic(devId), pushallRequest())
    for (;;) {
      while (pending.length > 0) yield pending.shift()!
      if (failure !== undefined) throw failure
      if (signal?.aborted) return
      await new Promise<void>((resolve) => (wake = resolve))
      wake = undefined
    }
  } finally {
    signal?.removeEventListener('abort', notify)
    client.removeAllListeners()
    await disconnect(client)
  }
}

let sequence = 20_000

/** Publishes a print control and waits for the printer's answer to it (the report echoing its `sequence_id`). */
export async function controlPrint(cloud: BambuCloud, devId: string, command: PrintControl, options: ControlOptions = {}): Promise<void> {
  const { signal, ackTimeoutMs = 10_000 } = options
  const client = await connectAsUser(cloud, signal)
  const sequenceId = String(++sequence)
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await subscribe(client, reportTopic(devId))
    const answer = new Promise<ReportObject>((resolve, reject) => {
      timer = setTimeout(() => reject(new PrintControlError(`${devId} did not answer ${command} within ${ackTimeoutMs} ms (is it online?)`)), ackTimeoutMs)
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
      client.on('message', (from, payload) => {
        const print = from === reportTopic(devId) ? parseReport(payload)?.print : undefined
        if (typeof print !== 'object' || print === null) return
        const ack = print as ReportObject
        if (ack.sequence_id === sequenceId && ack.command === command) resolve(ack)
      })
    })
    await publish(client, requestTopic(devId), printControlRequest(command, sequenceId), 1)
    const ack = await answer
    if (String(ack.result ?? '').toLowerCase() === 'failed') {
      throw new PrintControlError(`${devId} refused ${command}${typeof ack.reason === 'string' && ack.reason ? `: ${ack.reason}` : ''}`)
    }
  } finally {
    clearTimeout(timer)
    client.removeAllListeners()
    await disconnect(client)
  }
}
