/**
 * Building request URLs: a tagged template that encodes every path parameter, and a query
 * string that leaves out absent values.
 */

/**
 * A path whose interpolated parameters are each passed through `encodeURIComponent`, so
 * an id can never add a segment or a query of its own.
 *
 * @example
 * path`/v1/iot-service/api/slicer/setting/${id}` // id "a/b?c" -> ".../setting/a%2Fb%3Fc"
 */
export function path(strings: TemplateStringsArray, ...params: (string | number)[]): string {
  return strings.reduce((out, literal, i) => out + literal + (i < params.length ? encodeURIComponent(String(params[i])) : ''), '')
}

export type QueryValue = string | number | boolean | undefined | null

/** `?a=1&b=x` from the defined entries (`''` when none are). */
export function queryString(query: Record<string, QueryValue> | undefined): string {
  if (query === undefined) return ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) params.append(key, String(value))
  }
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}
