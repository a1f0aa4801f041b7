/**
 * Realistic, deterministic bench data: printers with full status reports, and the print
 * history of one account. Task `i` (0-based, counted over the whole run) is a pure function
 * of `i`, so a database can be topped up stage by stage and still look like one history.
 */
import type { Insertable } from 'kysely'
import type { DevicesTable, TasksTable } from '../packages/server/src/db/schema.ts'

export const DEVICE_COUNT = 100
/** One print started per minute across the fleet; the newest task is "now". */
const TASK_STEP_MS = 60_000

/** A uniform number in [0, 1) from an integer and a salt (splitmix32-style hash). */
export function unit(n: number, salt = 0): number {
  let h = (n ^ Math.imul(salt + 0x9e3779b9, 0x85ebca6b)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32
}

const pick = <T>(items: readonly T[], u: number): T => items[Math.floor(u * items.length)]!
const hex = (n: number, salt: number, len: number) =>
  Array.from({ length: len }, (_, k) => Math.floor(unit(n, salt + k) * 16).toString(16)).join('')

const MODELS = [
  { model: 'BL-P001', product: 'X1 Carbon', structure: 'core_xy', serial: '00M' },
  { model: 'C12', product: 'P1S', structure: 'core_xy', serial: '01P' },
  { model: 'N2S', product: 'A1', structure: 'i3', serial: '039' },
  { model: 'N1', product: 'A1 mini', structure: 'i3', serial: '030' },
  { model: 'C11', product: 'P1P', structure: 'core_xy', serial: '01S' },
] as const

/** What each printer is doing when the bench runs: 30 printing, 5 paused, 25 done, 20 idle, 20 never reported. */
export type DeviceActivity = 'RUNNING' | 'PAUSE' | 'FINISH' | 'IDLE' | 'NONE'
export function activityOf(d: number): DeviceActivity {
  if (d < 30) return 'RUNNING'
  if (d < 35) return 'PAUSE'
  if (d < 60) return 'FINISH'
  if (d < 80) return 'IDLE'
  return 'NONE'
}
/** Whose newest task is still going (status 4). */
export const isPrinting = (d: number) => activityOf(d) === 'RUNNING' || activityOf(d) === 'PAUSE'

export function deviceId(d: number): string {
  const m = MODELS[d % MODELS.length]!
  return `${m.serial}00A${String(391800000 + d * 7919).padStart(9, '0')}`
}

function deviceModel(d: number) {
  return MODELS[d % MODELS.length]!
}

export function deviceName(d: number): string {
  return `${deviceModel(d).product.replace(' ', '-')}-${['Lab', 'Farm', 'Office', 'Garage'][d % 4]}-${String(d + 1).padStart(2, '0')}`
}

export function deviceRow(d: number, uid: number, now: number): Insertable<DevicesTable> {
  const m = deviceModel(d)
  const bound = now - (DEVICE_COUNT - d) * 86_400_000
  return {
    dev_id: deviceId(d),
    owner_uid: uid,
    name: deviceName(d),
    dev_model_name: m.model,
    dev_product_name: m.product,
    dev_access_code: String(10_000_000 + Math.floor(unit(d, 1) * 89_999_999)),
    dev_structure: m.structure,
    nozzle_diameter: d % 10 === 9 ? 0.6 : 0.4,
    firmware_version: `01.0${7 + (d % 2)}.0${d % 3}.00`,
    online: activityOf(d) === 'NONE' ? 0 : 1,
    state: '{}',
    current_task_id: null,
    print_status: 'IDLE',
    live_project_id: '',
    bound_at: bound,
    created_at: bound,
    updated_at: bound,
  }
}

const TITLES = ['3DBenchy', 'Cable clip', 'Planetary gearbox', 'Headphone stand', 'Filament spool holder', 'Articulated dragon', 'Desk organizer', 'Raspberry Pi case', 'Plant pot', 'Phone stand', 'Drawer handle', 'Calibration cube']
const COLORS = ['F4EE2AFF', '000000FF', 'FFFFFFFF', 'C12E1FFF', '0A2989FF', '8E9089FF']
const FILAMENTS = [
  { id: 'GFA00', type: 'PLA', name: 'Bambu PLA Basic' },
  { id: 'GFG00', type: 'PETG', name: 'Bambu PETG Basic' },
  { id: 'GFB00', type: 'ABS', name: 'Bambu ABS' },
  { id: 'GFL99', type: 'PLA', name: 'Generic PLA' },
]
const BEDS = ['textured_plate', 'cool_plate', 'hot_plate', 'eng_plate']

/** Which printer task `i` ran on: some printers print far more than others. */
export function taskDevice(i: number): number {
  // Squaring skews the fleet: low-numbered printers (the busy ones) get most of the work.
  return Math.floor(unit(i, 11) ** 2 * DEVICE_COUNT)
}

export interface TaskPlan {
  /** Task `i` is the newest of its printer in this stage: its status follows the printer. */
  lastOfDevice: boolean
}

/** The row of task `i` of `total` (the run's largest size), with `now` the newest time. */
export function taskRow(i: number, total: number, uid: number, now: number, plan: TaskPlan): Insertable<TasksTable> {
  const d = taskDevice(i)
  const m = deviceModel(d)
  const created = now - (total - i) * TASK_STEP_MS
  const u = unit(i, 3)
  let status = u < 0.84 ? 2 : u < 0.97 ? 3 : 0
  if (plan.lastOfDevice) status = isPrinting(d) ? 4 : activityOf(d) === 'FINISH' ? 2 : status === 0 ? 2 : status
  const modeU = unit(i, 4)
  const mode = modeU < 0.7 ? 'cloud_file' : modeU < 0.9 ? 'lan_file' : 'cloud_slice'
  const title = `${pick(TITLES, unit(i, 5))}${unit(i, 6) < 0.5 ? '' : ` v${1 + Math.floor(unit(i, 7) * 9)}`}`
  const costTime = Math.round(600 + unit(i, 8) ** 2 * 36_000)
  const weight = Math.round((3 + unit(i, 9) * 250) * 100) / 100
  const start = status === 0 ? null : created + 45_000
  const end = status === 2 ? start! + costTime * 1000 : status === 3 ? start! + Math.round(costTime * 1000 * unit(i, 10)) : null
  const modelId = `US${hex(i, 20, 14)}`
  const lan = mode === 'lan_file'
  const trays = 1 + Math.floor(unit(i, 12) * 4)
  const extra = {
    designTitle: unit(i, 13) < 0.3 ? `${title} (MakerWorld)` : '',
    instanceId: unit(i, 13) < 0.3 ? 1_000_000 + Math.floor(unit(i, 14) * 9_000_000) : 0,
    plateName: '',
    bedType: pick(BEDS, unit(i, 15)),
    failedType: status === 3 ? 1 + Math.floor(unit(i, 16) * 3) : 0,
    feedbackStatus: 0,
    isPublicProfile: false,
    isPrintable: true,
    amsDetailMapping: Array.from({ length: trays }, (_, k) => {
      const f = pick(FILAMENTS, unit(i, 30 + k))
      const color = pick(COLORS, unit(i, 40 + k))
      return { ams: k, sourceColor: color, targetColor: color, filamentId: f.id, filamentType: f.type, targetFilamentType: '', weight: Math.round((weight / trays) * 100) / 100 }
    }),
    material: { id: '', name: '' },
  }
  return {
    uid,
    device_id: deviceId(d),
    status,
    mode,
    title,
    cover: lan ? null : `https://cloud.example.com/covers/${modelId}/plate_1.png`,
    model_id: lan ? '' : modelId,
    profile_id: lan ? 0 : 60_000_000 + Math.floor(unit(i, 17) * 9_000_000),
    plate_index: lan ? 0 : 1 + Math.floor(unit(i, 18) * 4),
    design_id: extra.instanceId ? 100_000 + Math.floor(unit(i, 19) * 900_000) : 0,
    weight,
    length: Math.round(weight * 331),
    cost_time: costTime,
    device_model: m.model,
    device_name: deviceName(d),
    start_time: start,
    end_time: end,
    lan_key: lan ? `${title}.gcode.3mf|${Math.floor((start ?? created) / 1000)}` : null,
    extra: JSON.stringify(extra),
    created_at: created,
    updated_at: end ?? start ?? created,
  }
}

/** A full `push_status` report as an X1/P1 printer sends it (what the devices' `state` keeps merged). */
export function printerState(d: number, task: { id: number; title: string; start: number } | null): string {
  const activity = activityOf(d)
  if (activity === 'NONE') return '{}'
  const gcodeState = activity === 'IDLE' ? 'IDLE' : activity
  const percent = activity === 'FINISH' ? 100 : activity === 'IDLE' ? 0 : 5 + (d * 13) % 90
  const tray = (k: number) => ({
    id: String(k),
    remain: 20 + ((d + k) * 17) % 80,
    k: 0.02,
    n: 1,
    tag_uid: hex(d, 60 + k, 16).toUpperCase(),
    tray_id_name: 'A00-Y0',
    tray_info_idx: FILAMENTS[k % FILAMENTS.length]!.id,
    tray_type: FILAMENTS[k % FILAMENTS.length]!.type,
    tray_sub_brands: FILAMENTS[k % FILAMENTS.length]!.name,
    tray_color: COLORS[(d + k) % COLORS.length],
    tray_weight: '1000',
    tray_diameter: '1.75',
    tray_temp: '55',
    tray_time: '8',
    bed_temp_type: '1',
    bed_temp: '35',
    nozzle_temp_max: '230',
    nozzle_temp_min: '190',
    xcam_info: '803E803E0000000000000000',
    tray_uuid: hex(d, 80 + k, 32).toUpperCase(),
    cols: [COLORS[(d + k) % COLORS.length]],
    ctype: 0,
  })
  const print = {
    command: 'push_status',
    msg: 0,
    sequence_id: String(2000 + d),
    upload: { status: 'idle', progress: 0, message: '' },
    nozzle_temper: activity === 'RUNNING' ? 219.94 : 27.5,
    nozzle_target_temper: activity === 'RUNNING' ? 220 : 0,
    bed_temper: activity === 'RUNNING' ? 55 : 26.1,
    bed_target_temper: activity === 'RUNNING' ? 55 : 0,
    chamber_temper: 29,
    mc_print_stage: activity === 'RUNNING' ? '2' : '1',
    heatbreak_fan_speed: '15',
    cooling_fan_speed: '15',
    big_fan1_speed: '0',
    big_fan2_speed: '0',
    mc_percent: percent,
    mc_remaining_time: activity === 'FINISH' || activity === 'IDLE' ? 0 : 12 + (d * 37) % 400,
    ams_status: 768,
    ams_rfid_status: 6,
    hw_switch_state: 1,
    spd_mag: 100,
    spd_lvl: 2,
    print_error: 0,
    lifecycle: 'product',
    wifi_signal: `-${40 + (d % 30)}dBm`,
    gcode_state: gcodeState,
    gcode_file_prepare_percent: '100',
    queue_number: 0,
    queue_total: 0,
    queue_est: 0,
    queue_sts: 0,
    project_id: task ? String(40_000_000 + d) : '0',
    profile_id: task ? String(60_000_000 + d) : '0',
    task_id: task ? String(task.id) : '0',
    subtask_id: task ? String(task.id) : '0',
    subtask_name: task?.title ?? '',
    gcode_file: task ? `/data/Metadata/plate_1.gcode` : '',
    gcode_start_time: task ? String(Math.floor(task.start / 1000)) : '0',
    stg: [2, 14, 1],
    stg_cur: activity === 'RUNNING' ? 0 : 255,
    print_type: task ? 'cloud' : 'idle',
    home_flag: 6336,
    mc_print_line_number: String(100_000 + d * 311),
    mc_print_sub_stage: 0,
    sdcard: true,
    force_upgrade: false,
    mess_production_state: 'active',
    layer_num: Math.floor(percent * 2.4),
    total_layer_num: 240,
    s_obj: [],
    filam_bak: [],
    fan_gear: 0,
    nozzle_diameter: d % 10 === 9 ? '0.6' : '0.4',
    nozzle_type: 'hardened_steel',
    hms: [],
    online: { ahb: false, rfid: false, version: 7 },
    ams: {
      ams: [{ id: '0', humidity: '4', temp: '26.4', tray: [0, 1, 2, 3].map(tray) }],
      ams_exist_bits: '1',
      tray_exist_bits: 'f',
      tray_is_bbl_bits: 'f',
      tray_tar: '0',
      tray_now: activity === 'RUNNING' ? '0' : '255',
      tray_pre: '0',
      tray_read_done_bits: 'f',
      tray_reading_bits: '0',
      version: 11,
      insert_flag: true,
      power_on_flag: false,
    },
    ipcam: { ipcam_dev: '1', ipcam_record: 'enable', timelapse: 'disable', resolution: '1080p', tutk_server: 'disable', mode_bits: 3 },
    vt_tray: { id: '254', tag_uid: '0000000000000000', tray_id_name: '', tray_info_idx: '', tray_type: '', tray_sub_brands: '', tray_color: '00000000', tray_weight: '0', tray_diameter: '0.00', tray_temp: '0', tray_time: '0', bed_temp_type: '0', bed_temp: '0', nozzle_temp_max: '0', nozzle_temp_min: '0', xcam_info: '000000000000000000000000', tray_uuid: '00000000000000000000000000000000', remain: 0, k: 0.02, n: 1, cali_idx: -1 },
    lights_report: [{ node: 'chamber_light', mode: 'on' }, { node: 'work_light', mode: 'flashing' }],
    upgrade_state: { sequence_id: 0, progress: '', status: '', consistency_request: false, dis_state: 0, err_code: 0, force_upgrade: false, message: '', module: '', new_version_state: 2, cur_state_code: 0, new_ver_list: [] },
    xcam: { allow_skip_parts: false, buildplate_marker_detector: true, first_layer_inspector: true, halt_print_sensitivity: 'medium', print_halt: true, printing_monitor: true, spaghetti_detector: true },
  }
  return JSON.stringify({ print })
}
