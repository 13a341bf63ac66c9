import { lookup as lookupCallback, type LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
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
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new UnsafeUrlError(`Unsupported scheme in ${url}`);
  if (!production) return;
  if (parsed.protocol !== 'https:') throw new UnsafeUrlError('Only https URLs are called in production');
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host)
    ? [{ address: host, family: isIP(host) }]
    : await lookup(host, { all: true, verbatim: true });
  for (const { address, family } of addresses) {
    if (isBlocked(address, family))
      throw new UnsafeUrlError(`${parsed.hostname} resolves to a loopback, private or link-local address`);
  }
}

function isBlocked(address: string, family: number): boolean {
  const mapped = family === 6 && address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : null;
  return mapped && isIP(mapped) === 4
    ? BLOCKED.check(mapped, 'ipv4')
    : BLOCKED.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * A DNS lookup that refuses blocked addresses at connection time, so a name
 * that resolved to a public address when checked cannot point elsewhere when
 * connected to (DNS rebinding).
 */
function checkedLookup(production: boolean): LookupFunction {
  return (hostname, options, callback) => {
    lookupCallback(hostname, { ...options, all: true }, (error, found) => {
      const addresses = found as unknown as LookupAddress[];
      if (error) return callback(error, '', 0);
      const blocked = production && addresses.find((a) => isBlocked(a.address, a.family));
      if (blocked || addresses.length === 0) {
        return callback(
          new UnsafeUrlError(`${hostname} resolves to a refused address`) as NodeJS.ErrnoException,
          '',
          0,
        );
      }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** POSTs a body to a URL checked by assertSafeUrl, connecting only to a checked address; answers the status code. */
export async function postChecked(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { production: boolean; timeoutMs: number },
): Promise<number> {
  await assertSafeUrl(url, options.production);
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        lookup: checkedLookup(options.production),
        timeout: options.timeoutMs,
      },
      (response) => {
        response.resume(); // the body is not read: only the status matters
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}
