/**
 * What a virtual printer says about itself: the full `print` object of an idle printer
 * (the answer to `pushall`, field names and types as real printers send them), the
 * modules `get_version` lists, and the error numbers it reports.
 */
import type { PrintReport } from '@bambu-cloud/protocol'

export interface PrinterIdentity {
  devId: string
  /** `dev_model_name`, e.g. `C11` (P1P), `BL-P001` (X1 Carbon). */
  model: string
  /** Version of the `ota` module, e.g. `01.08.01.00`. */
  firmware: string
  /** As printers write it: `0.4`. */
  nozzleDiameter: string
}

/**
 * `print_error` values. Printers encode a module in the high half and an error in the low
 * half; `cancelled` is the one real printers show after a stop, the others are ours in
 * that shape.
 */
export const PRINT_ERRORS = {
  cancelled: 0x0300_400c,
  fileNotFound: 0x0500_c010,
  fileMismatch: 0x0500_c011,
  downloadFailed: 0x0500_c012,
  scripted: 0x0300_8001,
} as const

/** The HMS entry a scripted failure raises; any well-formed attr/code pair would do. */
export const SCRIPTED_HMS = { attr: 0x0300_0100, code: 0x0001_0001 } as const

export const AMBIENT_TEMPERATURE = 25

/** The full report of a printer that has just started, sitting idle. */
export function idlePrintReport(identity: PrinterIdentity): PrintReport {
  return {
    command: 'push_status',
    sequence_id: '0',
    gcode_state: 'IDLE',
    print_type: '',
    print_error: 0,
    mc_print_error_code: '0',
    fail_reason: '0',
    mc_percent: 0,
    mc_remaining_time: 0,
    mc_print_stage: '1',
    mc_print_sub_stage: 0,
    layer_num: 0,
    total_layer_num: 0,
    gcode_file: '',
    gcode_file_prepare_percent: '0',
    gcode_start_time: '0',
    subtask_name: '',
    task_id: '',
    subtask_id: '',
    project_id: '',
    profile_id: '',
    queue_number: 0,
    hms: [],
    nozzle_diameter: identity.nozzleDiameter,
    nozzle_type: 'stainless_steel',
    nozzle_temper: AMBIENT_TEMPERATURE,
    nozzle_target_temper: 0,
    bed_temper: AMBIENT_TEMPERATURE,
    bed_target_temper: 0,
    chamber_temper: AMBIENT_TEMPERATURE,
    cooling_fan_speed: '0',
    heatbreak_fan_speed: '0',
    big_fan1_speed: '0',
    big_fan2_speed: '0',
    fan_gear: 0,
    spd_lvl: 2,
    spd_mag: 100,
    stg: [],
    stg_cur: -1,
    home_flag: 0,
    hw_switch_state: 0,
    sdcard: true,
    force_upgrade: false,
    lifecycle: 'product',
    mess_production_state: 'active',
    wifi_signal: '-48dBm',
    print_gcode_action: 0,
    print_real_action: 0,
    lights_report: [{ node: 'chamber_light', mode: 'on' }],
    ipcam: { ipcam_dev: '1', ipcam_record: 'enable', timelapse: 'disable', resolution: '1080p' },
    online: { ahb: false, rfid: false, version: 1 },
    ams_status: 0,
    ams_rfid_status: 0,
    ams: {
      ams: [],
      ams_exist_bits: '0',
      tray_exist_bits: '0',
      tray_is_bbl_bits: '0',
      tray_read_done_bits: '0',
      tray_reading_bits: '0',
      tray_now: '255',
      tray_pre: '255',
      tray_tar: '255',
      insert_flag: false,
      power_on_flag: false,
      version: 1,
    },
    vt_tray: {
      id: '254',
      tray_type: 'PLA',
      tray_color: 'FFFFFFFF',
      tray_info_idx: 'GFL99',
      nozzle_temp_min: '190',
      nozzle_temp_max: '240',
      remain: 0,
    },
    upgrade_state: {
      status: 'IDLE',
      progress: '0',
      message: '',
      module: 'null',
      new_version_state: 2,
      ota_new_version_number: '',
      ams_new_version_number: '',
      force_upgrade: false,
      consistency_request: false,
      err_code: 0,
      sequence_id: 0,
    },
    upload: { status: 'idle', progress: 0, message: 'Good', file_size: 0, finish_size: 0, speed: 0, time_remaining: 0, task_id: '', oss_url: '', sequence_id: '0', trouble_id: '' },
    xcam: { allow_skip_parts: false, buildplate_marker_detector: true, first_layer_inspector: true, halt_print_sensitivity: 'medium', print_halt: true, printing_monitor: true, spaghetti_detector: true },
    xcam_status: '0',
  }
}

/** The `module` list of an `info.get_version` report. */
export function versionModules(identity: PrinterIdentity): Array<Record<string, string>> {
  return [
    { name: 'ota', hw_ver: '', sn: '', sw_ver: identity.firmware },
    { name: 'mc', hw_ver: 'MC01', sn: identity.devId, sw_ver: identity.firmware },
    { name: 'th', hw_ver: 'TH01', sn: identity.devId, sw_ver: identity.firmware },
  ]
}
