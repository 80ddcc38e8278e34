import { toErrorResponse } from "../../protocol/mod.ts";
import { bearerToken, createTokenCheck } from "../../util/mod.ts";
import type { IngestLog } from "./_ingest_log.ts";

/** What a request presents as its credential. */
type Presented =
  | { readonly kind: "token"; readonly token: string }
  | { readonly kind: "missing" }
  | { readonly kind: "malformed" };

/** Answers whether a request may ingest: an error response when not, else undefined. */
export type IngestAuth = (
  request: Request,
  peer: string,
  isUpgrade: boolean,
) => Promise<Response | undefined>;

/**
 * The check of the ingest token. The token is compared in constant time and never
 * logged; refusals are warned about (rate-limited) with the peer only.
 */
export function createIngestAuth(token: string, lines: IngestLog): IngestAuth {
  const isToken = createTokenCheck(token);
  return async (request, peer, isUpgrade) => {
    const credential = presented(request, isUpgrade);
    if (credential.kind === "missing") {
      lines.warn("auth", "Ingest request from {peer} refused: no token", { peer });
      return toErrorResponse({
        status: 401,
        code: "token-missing",
        message: isUpgrade
          ? "Send the ingest token as 'Authorization: Bearer <token>' or the 'token' query parameter"
          : "Send the ingest token as 'Authorization: Bearer <token>'",
        retryable: false,
      });
    }
    if (credential.kind === "malformed" || !(await isToken(credential.token))) {
      lines.warn("auth", "Ingest request from {peer} refused: wrong token", { peer });
      return toErrorResponse({
        status: 401,
        code: "invalid-static-token",
        message: "The ingest token is not valid",
        retryable: false,
      });
    }
    return undefined;
  };
}

/** The token presented: from `Authorization: Bearer`, or for upgrades the query. */
function presented(request: Request, isUpgrade: boolean): Presented {
  const header = request.headers.get("authorization");
  if (header !== null && header.trim() !== "") {
    const token = bearerToken(header);
    if (token === undefined) return { kind: "malformed" };
    return token === "" ? { kind: "missing" } : { kind: "token", token };
  }
  if (isUpgrade) {
    const token = new URL(request.url).searchParams.get("token");
    if (token !== null && token !== "") return { kind: "token", token };
  }
  return { kind: "missing" };
}
