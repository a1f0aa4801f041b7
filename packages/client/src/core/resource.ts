/** The base of every resource group: a thin holder of the client whose `request` it calls. */
import type { BambuCloud } from '../client.ts'

export abstract class APIResource {
  constructor(protected readonly client: BambuCloud) {}
}
