/**
 * Which addresses and URLs dhp may reach on a user's behalf (SSRF policy): no non-http(s)
 * schemes, no credentials in URLs, and only public unicast addresses, including addresses that
 * embed a private IPv4 one (NAT64, 6to4, Teredo). The checks need no network; the client
 * (net/http.ts) applies them to every address it connects to and every redirect hop.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** The URL was refused by policy (scheme, credentials, address...). */
export class UnsafeUrlError extends Error {
  readonly code = 'UNSAFE_URL' as const;
  /** The refused address, when the refusal is about an address. */
  readonly address: string | undefined;

  constructor(message: string, address?: string) {
    super(message);
    this.name = 'UnsafeUrlError';
    this.address = address;
  }
}

// ---------------------------------------------------------------------------
// Address policy
// ---------------------------------------------------------------------------

const REFUSAL_TAIL = 'dhp refuses private, loopback and link-local targets';

/** Human names for ipaddr.js range labels, used in refusal messages. */
const RANGE_NAMES: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  uniqueLocal: 'unique-local (private)',
  reserved: 'reserved',
};

/**
 * Why `ip` is not an acceptable target, or null when it is a public unicast
 * address. Unparseable input is refused: the policy fails closed.
 */
export function classifyAddress(ip: string): string | null {
  const addr = parseIp(ip);
  if (!addr) return 'invalid';
  return addr.kind() === 'ipv4'
    ? classifyV4(addr as ipaddr.IPv4)
    : classifyV6(addr as ipaddr.IPv6);
}

/**
 * Strict parse: only the canonical forms Node itself accepts (no '127.1' or
 * hex IPv4 shorthands, which resolvers never return anyway).
 */
function parseIp(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const family = isIP(ip);
  if (family === 4) return ipaddr.IPv4.parse(ip);
  if (family !== 6) return null;
  // The zone (fe80::1%eth0) does not change the range. Normalising through
  // the WHATWG URL parser first matters: ipaddr.js misreads '::a.b.c.d'
  // (IPv4-compatible) as '::ffff:a.b.c.d' (IPv4-mapped).
  const canonical = new URL(`http://[${ip.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
  return ipaddr.IPv6.parse(canonical);
}

/** True when dhp must not connect to `ip` (unless allowPrivate is set). */
export function isForbiddenAddress(ip: string): boolean {
  return classifyAddress(ip) !== null;
}

function classifyV4(addr: ipaddr.IPv4): string | null {
  // Allow-list rather than block-list: anything ipaddr.js knows as special
  // (private, loopback, reserved, benchmarking, documentation...) is refused.
  const range = addr.range();
  if (range === 'unicast') return null;
  return RANGE_NAMES[range] ?? 'special-purpose';
}

function classifyV6(addr: ipaddr.IPv6): string | null {
  const range = addr.range();
  // These ranges carry an IPv4 address that the packet effectively reaches,
  // so the embedded address decides.
  const embedded = embeddedIPv4(addr, range);
  if (embedded) {
    const inner = embedded.map(classifyV4).find((kind) => kind !== null);
    return inner ? `${EMBEDDING_NAMES[range] ?? range} ${inner}` : null;
  }
  if (range !== 'unicast') return RANGE_NAMES[range] ?? 'special-purpose';
  // ::/96 is the deprecated IPv4-compatible block (also holds :: and ::1);
  // nothing legitimate lives there and some stacks still route it as IPv4.
  if (addr.parts.slice(0, 6).every((p) => p === 0)) return 'IPv4-compatible';
  return null;
}

const EMBEDDING_NAMES: Record<string, string> = {
  ipv4Mapped: 'IPv4-mapped',
  rfc6145: 'IPv4-translated',
  rfc6052: 'NAT64',
  '6to4': '6to4',
  teredo: 'Teredo',
};

function embeddedIPv4(addr: ipaddr.IPv6, range: string): ipaddr.IPv4[] | null {
  const p = addr.parts;
  const v4 = (hi: number, lo: number) =>
    new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  switch (range) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return [v4(p[6], p[7])];
    case 'rfc6052':
      // Only the well-known 64:ff9b::/96 has a fixed layout; the local-use
      // 64:ff9b:1::/48 is operator-defined and therefore refused outright.
      return p[2] === 0 ? [v4(p[6], p[7])] : [v4(0, 0)];
    case '6to4': // 2002:AABB:CCDD::/48
      return [v4(p[1], p[2])];
    case 'teredo': // server in bits 32-63, client obfuscated in the low 32 bits
      return [v4(p[2], p[3]), v4(~p[6] & 0xffff, ~p[7] & 0xffff)];
    default:
      return null;
  }
}

function withArticle(noun: string): string {
  return /^(?:[aeio]|un(?!i)|IPv)/i.test(noun) ? `an ${noun}` : `a ${noun}`;
}

// ---------------------------------------------------------------------------
// URL checks
// ---------------------------------------------------------------------------

/**
 * Parse and check the parts of a URL that need no network: scheme,
 * credentials, host. Useful on its own to validate user input early.
 */
export function parseSafeUrl(raw: string, subject = 'URL'): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError(`${subject} is not a valid absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UnsafeUrlError(
      `${subject} uses the ${url.protocol.replace(/:$/, '')} scheme; only http and https are allowed`,
    );
  }
  // Credentials in URLs end up in logs and get forwarded on redirects.
  if (url.username !== '' || url.password !== '') {
    throw new UnsafeUrlError(`${subject} contains credentials (user:password@); put them in a header instead`);
  }
  if (url.hostname === '') throw new UnsafeUrlError(`${subject} has no host`);
  return url;
}

/** The URL hostname without the brackets WHATWG URL keeps around IPv6. */
export function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}


/** The refusal of a connection to `address` (what: "the host resolves to", "the redirect goes to"). */
export function forbiddenAddressError(address: string, what: string): UnsafeUrlError {
  const kind = classifyAddress(address) ?? 'disallowed';
  return new UnsafeUrlError(`${what} ${withArticle(kind)} address (${address}); ${REFUSAL_TAIL}`, address);
}
