import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv6');
}

export class UnsafeUrlError extends Error {}

/**
 * In production, the platform never calls an address on loopback, a private
 * network or link-local (the cloud metadata service): a registry entry or a
 * callback URL must not turn the platform against its own network.
 */
export async function assertSafeUrl(url: string, production: boolean): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UnsafeUrlError(`Not a URL: ${url}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new UnsafeUrlError(`Unsupported scheme in ${url}`);
  if (!production) return;
  if (parsed.protocol !== 'https:') throw new UnsafeUrlError('Only https URLs are called in production');
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true, verbatim: true });
  for (const { address, family } of addresses) {
    const mapped = family === 6 && address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : null;
    const blocked = mapped && isIP(mapped) === 4 ? BLOCKED.check(mapped, 'ipv4') : BLOCKED.check(address, family === 6 ? 'ipv6' : 'ipv4');
    if (blocked) throw new UnsafeUrlError(`${parsed.hostname} resolves to a loopback, private or link-local address`);
  }
}
