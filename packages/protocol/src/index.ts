/**
 * @bambu-cloud/protocol: every wire shape of the Bambu Lab cloud API and the error table.
 * The server validates and serialises with these schemas, the OpenAPI document is built
 * from them, and the SDK takes its types from them.
 */
export * from './errors.ts'
export * from './version.ts'
export * from './schemas/common.ts'
export * from './schemas/auth.ts'
export * from './schemas/user.ts'
export * from './schemas/admin.ts'
export * from './schemas/slicer.ts'
export * from './schemas/devices.ts'
export * from './schemas/tasks.ts'
export * from './schemas/projects.ts'
export * from './schemas/uploads.ts'
export * from './schemas/slicer-settings.ts'
export * from './mqtt.ts'
