/**
 * Registers a fleet's printers on a server through its admin API, so they can log in to
 * its broker as devices: each serial with the fleet's access code, bound to an account.
 * A printer already registered gets the access code (and owner) again.
 */

export interface Registration {
  /** The server's base URL (http[s]://host:port). */
  baseUrl: string
  adminToken: string
  /** The account the printers are bound to. */
  owner: string
  devIds: string[]
  accessCode: string
  model: string
}

const PRODUCTS: Record<string, string> = { 'BL-P001': 'X1 Carbon', 'BL-P002': 'X1', C11: 'P1P', C12: 'P1S', C13: 'X1E', N1: 'A1 mini', N2S: 'A1' }

/** One call of a server's admin API; the parsed JSON answer (undefined when empty) and its status. */
export async function adminRequest(baseUrl: string, adminToken: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(new URL(path, baseUrl), {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  let parsed: unknown
  try {
    parsed = text === '' ? undefined : JSON.parse(text)
  } catch {
    parsed = text
  }
  return { status: res.status, body: parsed }
}

export async function registerFleet(r: Registration): Promise<void> {
  const call = (method: string, path: string, body: unknown) => adminRequest(r.baseUrl, r.adminToken, method, path, body)
  for (const [i, devId] of r.devIds.entries()) {
    const fields = { dev_access_code: r.accessCode, owner: r.owner }
    let res = await call('POST', '/admin/v1/devices', {
      dev_id: devId,
      name: `Virtual printer ${i + 1}`,
      dev_model_name: r.model,
      dev_product_name: PRODUCTS[r.model] ?? r.model,
      ...fields,
    })
    if (res.status === 409) res = await call('PATCH', `/admin/v1/devices/${encodeURIComponent(devId)}`, fields)
    if (res.status >= 300) throw new Error(`registering ${devId}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`)
  }
}
