/** Virtual printers: the printer's side of the protocol, one at a time or as a fleet. */
export { VirtualPrinter, type LanEndpoints, type LanOptions, type VirtualPrinterEvents, type VirtualPrinterOptions } from './virtual-printer.ts'
export { fleetDevId, startFleet, type Fleet, type FleetOptions } from './fleet.ts'
export { FtpsServer, type FtpsServerOptions, type StoredFile } from './ftps-server.ts'
export type { CloudLinkOptions } from './cloud-link.ts'
export { PRINT_ERRORS } from './print-report.ts'
