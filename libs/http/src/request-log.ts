/** Paths whose last segments are a capability secret (a token in the URL): logged as their pattern. */
const CAPABILITY_PATHS = [/^(\/v1\/calendar-feeds\/)[^/]+/];

/** The path a request log line shows: no query string, and no secret a capability URL carries. */
export function loggedPath(url: string): string {
  const path = url.split('?')[0];
  return CAPABILITY_PATHS.reduce((logged, pattern) => logged.replace(pattern, '$1{secret}'), path);
}
