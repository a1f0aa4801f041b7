/**
 * The MQTT side: topics, the requests clients send a printer and the reports it sends
 * back. Printers, the cloud broker, the LAN bridge, virtual printers and the SDK all
 * build and read messages through these, so a topic or a command is spelled once.
 */

/** The user name of a printer's own broker and FTPS endpoint on the LAN; the password is its access code. */
export const LAN_USER = 'bblp'

/** Where a printer publishes its reports. */
export function reportTopic(devId: string): string {
  return `device/${devId}/report`
}

/** Where clients publish requests for a printer. */
export function requestTopic(devId: string): string {
  return `device/${devId}/request`
}

export interface DeviceTopic {
  devId: string
  kind: 'report' | 'request'
}

/** `device/<dev_id>/report|request` split up; null for any other topic (wildcards included). */
export function parseDeviceTopic(topic: string): DeviceTopic | null {
  const parts = topic.split('/')
  if (parts.length !== 3 || parts[0] !== 'device') return null
  const [, devId, kind] = parts as [string, string, string]
  if (devId === '' || devId.includes('+') || devId.includes('#')) return null
  if (kind !== 'report' && kind !== 'request') return null
  return { devId, kind }
}

/** The `gcode_state` values a printer reports. */
export const GCODE_STATES = ['IDLE', 'PREPARE', 'SLICING', 'RUNNING', 'PAUSE', 'FINISH', 'FAILED'] as const
export type GcodeState = (typeof GCODE_STATES)[number]

/** A request or report: one top-level key (`print`, `pushing`, `info`, `system`, ...) holding a command. */
export type DeviceMessage = Record<string, DeviceCommand>

export interface DeviceCommand {
  sequence_id?: string
  command?: string
  [field: string]: unknown
}

/** The fields of a `print` report this project reads; printers send many more, all kept. */
export interface PrintReport extends DeviceCommand {
  gcode_state?: GcodeState | string
  mc_percent?: number
  mc_remaining_time?: number
  layer_num?: number
  total_layer_num?: number
  subtask_name?: string
  gcode_file?: string
  task_id?: string
  subtask_id?: string
  project_id?: string
  profile_id?: string
  print_type?: string
  print_error?: number
  result?: string
  reason?: string
}

/** Asks a printer for its full state. */
export function pushallRequest(sequenceId = '0'): DeviceMessage {
  return { pushing: { sequence_id: sequenceId, command: 'pushall', version: 1, push_target: 1 } }
}

/** The print controls that take no argument. */
export type PrintControl = 'pause' | 'resume' | 'stop'

export function printControlRequest(command: PrintControl, sequenceId = '0'): DeviceMessage {
  return { print: { sequence_id: sequenceId, command, param: '' } }
}

export interface ProjectFileParams {
  /** `Metadata/plate_<N>.gcode`. */
  param: string
  /** Where the printer finds the 3MF: `ftp:///<name>.3mf` on the LAN, an https URL from the cloud. */
  url: string
  md5: string
  project_id: string
  profile_id: string
  task_id: string
  subtask_id: string
  subtask_name: string
  timelapse?: boolean
  bed_levelling?: boolean
  flow_cali?: boolean
  vibration_cali?: boolean
  layer_inspect?: boolean
  use_ams?: boolean
  ams_mapping?: number[] | string
}

/** Starts a print of one plate of a 3MF (`print.project_file`); every id is a string, as printers expect. */
export function projectFileRequest(params: ProjectFileParams, sequenceId = '0'): DeviceMessage {
  return {
    print: {
      sequence_id: sequenceId,
      command: 'project_file',
      file: '',
      bed_type: 'auto',
      timelapse: false,
      bed_levelling: true,
      flow_cali: false,
      vibration_cali: false,
      layer_inspect: false,
      use_ams: false,
      ams_mapping: '',
      ...params,
    },
  }
}

/** The plate file inside a 3MF that `project_file` names. */
export function plateGcodePath(plateIndex: number): string {
  return `Metadata/plate_${plateIndex}.gcode`
}

export type ReportObject = { [field: string]: unknown }

function isPlainObject(value: unknown): value is ReportObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * A partial report merged into the state it updates: objects merge key by key, anything
 * else (numbers, strings, arrays) replaces. P1 and A1 printers send only what changed, so
 * every reader of reports keeps its state this way.
 */
export function mergeReport(state: ReportObject, patch: ReportObject): ReportObject {
  const out: ReportObject = { ...state }
  for (const [key, value] of Object.entries(patch)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue
    const current = out[key]
    out[key] = isPlainObject(value) && isPlainObject(current) ? mergeReport(current, value) : value
  }
  return out
}
