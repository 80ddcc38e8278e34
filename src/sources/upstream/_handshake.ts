/** Where the upstream is and how logs may name it. */
export interface UpstreamAddress {
  /** The URL the socket opens. */
  readonly url: string;
  /** The URL without credentials or query values, for logs and `/status`. */
  readonly loggableUrl: string;
}

/** Reads the upstream URL; throws a `TypeError` unless it is a `ws://` or `wss://` URL. */
export function parseUpstreamUrl(text: string): UpstreamAddress {
  let target: URL;
  try {
    target = new URL(text);
  } catch (cause) {
    throw new TypeError(`Cannot use upstream URL: expected a ws:// or wss:// URL`, { cause });
  }
  if (target.protocol !== "ws:" && target.protocol !== "wss:") {
    throw new TypeError(`Cannot use upstream URL: expected a ws:// or wss:// URL`);
  }
  return { url: target.href, loggableUrl: toLoggableUrl(target) };
}

/** The URL without credentials or query values, for logs. */
function toLoggableUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search === "" ? "" : "?…"}`;
}

/**
 * The handshake headers: `headers`, with `Authorization: Bearer <token>` replacing any
 * Authorization among them when a token is given.
 */
export function toHandshakeHeaders(
  headers: Readonly<Record<string, string>> | undefined,
  token: string | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (token !== undefined && key.toLowerCase() === "authorization") continue;
    out[key] = value;
  }
  if (token !== undefined) out["Authorization"] = `Bearer ${token}`;
  return out;
}
