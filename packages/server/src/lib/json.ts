/** Small helpers for JSON objects whose shape we do not control (printer reports, extras). */

export type JsonObject = Record<string, unknown>

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Merges a partial report into the state (one rule for every reader of reports: protocol's). */
export { mergeReport as deepMerge } from '@bambu-cloud/protocol'

export function parseObject(text: string | null | undefined): JsonObject {
  if (!text) return {}
  try {
    const value: unknown = JSON.parse(text)
    return isObject(value) ? value : {}
  } catch {
    return {}
  }
}

/** `value` when it has the type of `fallback`, else `fallback`. */
export function ofType<T extends string | number | boolean>(value: unknown, fallback: T): T {
  if (typeof value !== typeof fallback) return fallback
  if (typeof value === 'number' && !Number.isFinite(value)) return fallback
  return value as T
}
