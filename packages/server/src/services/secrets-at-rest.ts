/**
 * The start-up step for secrets at rest, after the migrations: it needs the secrets key,
 * which frozen migrations never get. It proves the key opens this database's secrets
 * (the signing keys are created sealed on the first start, so a wrong key fails here, not
 * at the first login), then seals what an earlier version stored in plain. Idempotent.
 */
import type { Services } from './index.ts'

export interface SealReport {
  tfaSecrets: number
  accessCodes: number
}

export async function sealSecretsAtRest(services: Services): Promise<SealReport> {
  await services.fileLinks.signer()
  await services.tokens.signingSecret()
  return { tfaSecrets: await services.accounts.sealTfaSecrets(), accessCodes: await services.devices.sealAccessCodes() }
}
