import { bearerToken } from "../util/mod.ts";

/**
 * The token a client presented: `Authorization: Bearer` first, else `hs_token`. An
 * `Authorization` header that is not a Bearer token gives `""` (a malformed credential),
 * never a fallback to the query; no credential at all gives `undefined`.
 */
export function presentedToken(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  if (header !== null) return bearerToken(header) ?? "";
  return new URL(request.url).searchParams.get("hs_token") ?? undefined;
}
