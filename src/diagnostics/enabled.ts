/**
 * Whether the diagnostics are served: only with an admin token or an admin port, so that
 * a heap snapshot, which holds every secret in the process, is never one request away on
 * an open listener.
 */
export function isDiagnosticsEnabled(
  server: { readonly adminPort: number; readonly adminToken: string },
): boolean {
  return server.adminPort >= 0 || server.adminToken !== "";
}
