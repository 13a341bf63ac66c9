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
 * connected to (DNS rebinding). Runs on every connection, not once per URL.
 */
export function checkedLookup(production: boolean): LookupFunction {
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

export interface OutboundOptions {
  production: boolean;
  /**
   * Overall deadline of the call: address check, connect, send and the whole
   * answer. An idle-socket timeout alone lets a peer that trickles a byte
   * every few seconds hold the call forever.
   */
  timeoutMs: number;
}

export interface CheckedAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * One call to a URL checked by assertSafeUrl, connecting only to a checked
 * address, within one overall deadline; redirects are not followed. The
 * answer's body is read up to `maxBodyBytes` (0: drained and dropped).
 */
export async function requestChecked(
  url: string,
  request: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; maxBodyBytes: number },
  options: OutboundOptions & { signal?: AbortSignal },
): Promise<CheckedAnswer> {
  const controller = new AbortController();
  const deadline = new Error(`no complete answer within ${options.timeoutMs} ms`);
  const timer = setTimeout(() => controller.abort(deadline), options.timeoutMs);
  const cancel = () => controller.abort(options.signal!.reason);
  if (options.signal?.aborted) cancel();
  else options.signal?.addEventListener('abort', cancel, { once: true });
  try {
    await Promise.race([assertSafeUrl(url, options.production), aborted(controller.signal)]);
    return await send(url, request, options.production, controller.signal);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', cancel);
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function send(
  url: string,
  request: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; maxBodyBytes: number },
  production: boolean,
  signal: AbortSignal,
): Promise<CheckedAnswer> {
  const target = new URL(url);
  const call = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers =
    request.body === undefined
      ? request.headers
      : { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) };
  return new Promise((resolve, reject) => {
    const outgoing = call(
      target,
      { method: request.method, headers, lookup: checkedLookup(production) },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > request.maxBodyBytes) {
            if (request.maxBodyBytes > 0)
              outgoing.destroy(new Error(`answer larger than ${request.maxBodyBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
        response.on('error', reject);
      },
    );
    // The deadline destroys the socket wherever the call is: connecting, sending or reading.
    const abort = () => outgoing.destroy(signal.reason as Error);
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    outgoing.on('close', () => signal.removeEventListener('abort', abort));
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

/** POSTs a body to a URL checked by assertSafeUrl, within one overall deadline; answers the status code. */
export async function postChecked(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: OutboundOptions,
): Promise<number> {
  // The body is not read: only the status matters.
  return (await requestChecked(url, { method: 'POST', headers, body, maxBodyBytes: 0 }, options)).status;
}

/**
 * A `fetch` for jose's remote JWKS: every fetch goes through the same checks
 * as a webhook (address checked before and at connect time, one deadline, no
 * redirect), not only the first one of a URL.
 */
export function checkedFetch(options: OutboundOptions & { maxBodyBytes?: number }) {
  return async (url: string, init: { headers?: Headers; signal?: AbortSignal }): Promise<Response> => {
    const headers: Record<string, string> = {};
    init.headers?.forEach((value, key) => (headers[key] = value));
    const answer = await requestChecked(
      url,
      { method: 'GET', headers, maxBodyBytes: options.maxBodyBytes ?? 256 * 1024 },
      { ...options, signal: init.signal },
    );
    return new Response(answer.status === 204 || answer.status === 304 ? null : new Uint8Array(answer.body), {
      status: answer.status,
      headers: { 'content-type': String(answer.headers['content-type'] ?? 'application/octet-stream') },
    });
  };
}
