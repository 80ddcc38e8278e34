import { toPeerAddress } from "../http/mod.ts";
import { type Cidr, cidrContains, parseIp } from "../util/mod.ts";

/** The TCP peer of a request, as `Deno.serve` reports it. */
export interface RemoteAddress {
  readonly hostname: string;
  readonly port: number;
}

/** Why forwarding headers from a trusted proxy were not used. */
export type ForwardedProblem = "malformed" | "unknown-client" | "too-long";

/** Options for {@link createClientAddress}. */
export interface ClientAddressOptions {
  /** `PHAROS_TRUSTED_PROXIES`: peers whose forwarding headers are believed. */
  readonly trustedProxies: readonly Cidr[];
  /** A trusted peer sent headers that name no client: the peer address is used instead. */
  readonly onForwardedProblem: (problem: ForwardedProblem) => void;
}

/**
 * Finds a request's client address: `host:port` (`[v6]:port`) of the TCP peer, or, when
 * the peer is a trusted proxy, the address it forwarded (without a port unless the header
 * gave one).
 */
export type ClientAddress = (request: Request, remote: RemoteAddress) => string;

/** Hops of a forwarding chain read at most; a longer header is refused whole. */
const MAX_HOPS = 32;

/** One hop of a forwarding chain: the address as given, and its bytes. */
interface Hop {
  readonly text: string;
  readonly ip: Uint8Array;
}

/**
 * An address as a forwarding header gives it: `203.0.113.9`, `203.0.113.9:4711`,
 * `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:4711`; undefined for anything else
 * (`unknown`, an obfuscated `_name`, a host name).
 */
function toHop(value: string): Hop | undefined {
  const text = value.trim();
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    const port = text.slice(end + 1);
    if (end < 0 || (port !== "" && !/^:\d{1,5}$/.test(port))) return undefined;
    const ip = parseIp(text.slice(1, end));
    return ip === undefined ? undefined : { text: port === "" ? text.slice(1, end) : text, ip };
  }
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(text);
  const ip = parseIp(v4WithPort?.[1] ?? text);
  return ip === undefined ? undefined : { text, ip };
}

/** Splits on `separator` outside double quotes. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '"') quoted = !quoted;
    if (char === "\\" && quoted) {
      current += char + (text[++i] ?? "");
      continue;
    }
    if (char === separator && !quoted) {
      parts.push(current);
      current = "";
    } else current += char;
  }
  parts.push(current);
  return parts;
}

/** The `for=` of each element of an RFC 7239 `Forwarded` header, in order. */
function forwardedFor(header: string): (string | undefined)[] {
  return splitOutsideQuotes(header, ",").map((element) => {
    for (const pair of splitOutsideQuotes(element, ";")) {
      const equals = pair.indexOf("=");
      if (equals < 0 || pair.slice(0, equals).trim().toLowerCase() !== "for") continue;
      const value = pair.slice(equals + 1).trim();
      return value.startsWith('"') && value.endsWith('"') && value.length >= 2
        ? value.slice(1, -1).replaceAll(/\\(.)/g, "$1")
        : value;
    }
    return undefined;
  });
}

/** The chain a proxy forwarded, nearest hop last; undefined without a header. */
function forwardedChain(headers: Headers): Hop[] | ForwardedProblem | undefined {
  const forwarded = headers.get("forwarded");
  const values = forwarded !== null
    ? forwardedFor(forwarded)
    : headers.get("x-forwarded-for")?.split(",");
  if (values === undefined) return undefined;
  if (values.length > MAX_HOPS) return "too-long";
  const hops: Hop[] = [];
  for (const value of values) {
    const hop = value === undefined ? undefined : toHop(value);
    if (hop === undefined) {
      const word = value?.trim().toLowerCase();
      return word === "unknown" || word?.startsWith("_") ? "unknown-client" : "malformed";
    }
    hops.push(hop);
  }
  return hops;
}

/**
 * The client address of each request: the TCP peer, unless the peer is in
 * `trustedProxies`; then the right-most address of `Forwarded` (or, without it,
 * `X-Forwarded-For`) that is not itself a trusted proxy (the left-most when all are). A
 * trusted peer's header that cannot be read whole falls back to the peer address and is
 * reported; an untrusted peer's headers are ignored, so a client cannot pick its address.
 */
export function createClientAddress(options: ClientAddressOptions): ClientAddress {
  const { trustedProxies, onForwardedProblem } = options;
  const isTrusted = (ip: Uint8Array) => trustedProxies.some((cidr) => cidrContains(cidr, ip));
  return (request, remote) => {
    const peer = toPeerAddress({ remoteAddr: remote });
    if (trustedProxies.length === 0) return peer;
    const peerIp = parseIp(remote.hostname);
    if (peerIp === undefined || !isTrusted(peerIp)) return peer;
    const chain = forwardedChain(request.headers);
    if (chain === undefined) return peer;
    if (typeof chain === "string") {
      onForwardedProblem(chain);
      return peer;
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      if (!isTrusted(chain[i]!.ip)) return chain[i]!.text;
    }
    return chain[0]?.text ?? peer;
  };
}
