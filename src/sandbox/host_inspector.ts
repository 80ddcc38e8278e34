/**
 * The handler host's inspector session, for the CPU profiles the server asks for
 * (`/debug/profile?target=host`). Deno lets a process open one only with the `sys`
 * permission (`Session.connect` checks `sys` "inspector"), which no stack may declare: with
 * diagnostics on, the server starts the host with `--allow-sys` for this alone, and the
 * prelude opens the session and revokes `sys` before any module of the stack runs. The
 * session keeps working after the revocation (measured on Deno 2.9.6); guest code can
 * neither open another nor read anything `sys` guards. Heap snapshots need no session
 * (`node:v8` `getHeapSnapshot` needs no permission).
 */
import { Session } from "node:inspector";

/** Sends one inspector command and resolves with its result. */
export type InspectorPost = (method: string, params?: Record<string, unknown>) => Promise<unknown>;

/**
 * Opens the session when `sys` allows it, then revokes `sys` whatever it was; undefined
 * when there is no session (the host was started without diagnostics). Throws when `sys`
 * is still granted afterwards: guest code must never run with it.
 */
export function openInspector(): InspectorPost | undefined {
  let session: Session | undefined = new Session();
  try {
    session.connect();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    session = undefined;
  }
  Deno.permissions.revokeSync({ name: "sys" });
  if (Deno.permissions.querySync({ name: "sys" }).state === "granted") {
    throw new Error("the handler host could not revoke its sys permission");
  }
  if (session === undefined) return undefined;
  // Bound now: guest code patching `Session.prototype` later does not reach this one.
  const post = session.post.bind(session) as (
    method: string,
    params: Record<string, unknown>,
    callback: (error: Error | null, result: unknown) => void,
  ) => void;
  return (method, params = {}) =>
    new Promise((resolve, reject) => {
      post(method, params, (error, result) => error === null ? resolve(result) : reject(error));
    });
}
