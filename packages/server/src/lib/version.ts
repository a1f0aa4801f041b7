/** Slicer-style versions: four dot-separated numbers, compared numerically. */
const VERSION = /^\d{1,4}\.\d{1,4}\.\d{1,4}\.\d{1,4}$/

export function isVersion(value: string): boolean {
  return VERSION.test(value)
}

/** Negative, zero or positive as `a` is older than, equal to or newer than `b`. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}
