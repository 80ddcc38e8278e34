/**
 * IP addresses and CIDR ranges, IPv4 and IPv6 alike: an address is held as 16 bytes, IPv4
 * as its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`), so `10.0.0.0/8` also matches a dual-stack
 * listener's `::ffff:10.1.2.3` peer.
 */

/** An address range: `10.0.0.0/8`, `2001:db8::/32`, or one address (`/32`, `/128`). */
export interface Cidr {
  /** The range's first address, 16 bytes. */
  readonly bytes: Uint8Array;
  /** Leading bits that must match, 0–128 (an IPv4 `/8` is 104). */
  readonly prefixBits: number;
  /** As written in the configuration. */
  readonly text: string;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): number[] | undefined {
  const match = IPV4.exec(text);
  if (match === null) return undefined;
  const octets = match.slice(1).map((part) => (/^0\d/.test(part) ? NaN : Number(part)));
  return octets.every((octet) => octet >= 0 && octet <= 255) ? octets : undefined;
}

/** The 16 groups' worth of bytes of an IPv6 address, or undefined. */
function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups: number[] = [];
    const parts = part.split(":");
    for (const [index, group] of parts.entries()) {
      // An embedded IPv4 address may end the address: ::ffff:10.0.0.1.
      if (index === parts.length - 1 && group.includes(".")) {
        const octets = parseIpv4(group);
        if (octets === undefined) return undefined;
        groups.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
      } else if (HEX_GROUP.test(group)) {
        groups.push(parseInt(group, 16));
      } else return undefined;
    }
    return groups;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  for (const [index, group] of groups.entries()) {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  }
  return bytes;
}

function mapped(octets: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(16);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes.set(octets, 12);
  return bytes;
}

/**
 * An IPv4 (`203.0.113.9`) or IPv6 (`2001:db8::1`, `::ffff:10.0.0.1`, optionally in
 * brackets) address as 16 bytes; undefined when `text` is not one (a host name, a port
 * attached, a zone id, leading zeros in an IPv4 octet).
 */
export function parseIp(text: string): Uint8Array | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v4 = parseIpv4(bare);
  if (v4 !== undefined) return mapped(v4);
  return bare.includes(":") ? parseIpv6(bare) : undefined;
}

/**
 * A CIDR range (`10.0.0.0/8`, `2001:db8::/32`) or a single address. Throws a `RangeError`
 * naming the problem; host bits set below the prefix are refused, as they usually mean
 * a typo (`10.0.0.1/8`).
 */
export function parseCidr(text: string): Cidr {
  const [address = "", prefix, ...rest] = text.trim().split("/");
  const bytes = rest.length === 0 ? parseIp(address) : undefined;
  if (bytes === undefined) throw new RangeError(`"${text}" is not an IP address or CIDR range`);
  const isV4 = parseIpv4(address) !== undefined;
  const width = isV4 ? 32 : 128;
  let bits = width;
  if (prefix !== undefined) {
    bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!(bits >= 0 && bits <= width)) {
      throw new RangeError(`"${text}": the prefix length must be 0–${width}`);
    }
  }
  const prefixBits = bits + (isV4 ? 96 : 0);
  if (!matchesPrefix(bytes, bytes.map((byte, i) => maskByte(byte, i, prefixBits)), 128)) {
    throw new RangeError(`"${text}": address bits are set beyond the /${bits} prefix`);
  }
  return { bytes, prefixBits, text: text.trim() };
}

function maskByte(byte: number, index: number, prefixBits: number): number {
  const bitsHere = Math.max(0, Math.min(8, prefixBits - index * 8));
  return byte & ((0xff << (8 - bitsHere)) & 0xff);
}

function matchesPrefix(a: Uint8Array, b: Uint8Array, prefixBits: number): boolean {
  for (let i = 0; i < 16; i++) {
    if (maskByte(a[i]!, i, prefixBits) !== maskByte(b[i]!, i, prefixBits)) return false;
  }
  return true;
}

/** Whether the address `ip` (16 bytes, from {@link parseIp}) lies in `cidr`. */
export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  return matchesPrefix(cidr.bytes, ip, cidr.prefixBits);
}
