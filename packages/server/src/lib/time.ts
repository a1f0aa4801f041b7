/** The two time formats the cloud's wire uses. */

/** ISO-8601 UTC without fractions, `2022-11-22T01:58:10Z` (tasks, messages). */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** `2022-11-22 09:58:04`, UTC (projects, profiles, presets). */
export function sqlTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ')
}
