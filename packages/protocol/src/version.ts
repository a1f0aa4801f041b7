/**
 * Slicer-style versions: four dot-separated numbers (`01.03.00.13`, `1.10.0.89`), compared
 * number by number. Presets, firmware and slicer resources all carry them.
 */

/** The JSON-schema pattern of a version. */
export const VERSION_PATTERN = '^\\d{1,4}\\.\\d{1,4}\\.\\d{1,4}\\.\\d{1,4}$'

const VERSION = new RegExp(VERSION_PATTERN)

export function isVersion(value: string): boolean {
  return VERSION.test(value)
}

/**
 * Negative, zero or positive as `a` is older than, equal to or newer than `b`.
 *
 * @example
 * compareVersions('01.08.00.00', '01.07.02.00') // > 0
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}
