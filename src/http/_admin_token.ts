import { toJsonResponse } from "../protocol/mod.ts";
import { bearerToken, createTokenCheck } from "../util/mod.ts";

/** An answer refusing an admin route, or undefined when the request may have it. */
export type AdminCheck = (request: Request, path: string) => Promise<Response | undefined>;

/** Lets every request through: no admin token is set. */
const allowAll: AdminCheck = () => Promise.resolve(undefined);

/**
 * Checks the admin token a request carries as `Authorization: Bearer` (compared in
 * constant time); without a token (undefined or empty) every request may pass.
 */
export function createAdminCheck(adminToken: string | undefined): AdminCheck {
  if (adminToken === undefined || adminToken === "") return allowAll;
  const adminTokenMatches = createTokenCheck(adminToken);
  return async (request, path) => {
    const token = bearerToken(request.headers.get("authorization") ?? "");
    if (token !== undefined && token !== "" && await adminTokenMatches(token)) return undefined;
    return toJsonResponse(401, {
      error: "admin-token-required",
      message: `${path} requires the admin token as Authorization: Bearer`,
    }, { "www-authenticate": 'Bearer realm="pharos-admin"' });
  };
}
