import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, customFetch } from 'jose';
import { assertSafeUrl, checkedFetch, checkedLookup, postChecked, UnsafeUrlError } from './safe-url.js';

describe(assertSafeUrl.name, () => {
  it.each([
    'https://127.0.0.1/hook',
    'https://10.1.2.3/hook',
    'https://172.20.0.5/hook',
    'https://192.168.1.10/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://[::1]/hook',
    'https://[fe80::1]/hook',
    'https://[fd00::1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://0.0.0.0/hook',
    'https://localhost/hook',
  ])('refuses %s in production', async (url) => {
    await expect(assertSafeUrl(url, true)).rejects.toThrow(UnsafeUrlError);
  });

  it('refuses plain http and other schemes in production', async () => {
    await expect(assertSafeUrl('http://203.0.113.10/hook', true)).rejects.toThrow(/https/);
    await expect(assertSafeUrl('file:///etc/passwd', true)).rejects.toThrow(/scheme/);
    await expect(assertSafeUrl('not a url', true)).rejects.toThrow(/Not a URL/);
  });

  it('accepts a public address in production', async () => {
    await expect(assertSafeUrl('https://203.0.113.10/hook', true)).resolves.toBeUndefined();
    await expect(assertSafeUrl('https://[2001:db8::1]/hook', true)).resolves.toBeUndefined();
  });

  it('lets development and tests call loopback', async () => {
    await expect(assertSafeUrl('http://127.0.0.1:4000/hook', false)).resolves.toBeUndefined();
  });
});

describe(postChecked.name, () => {
  it('posts to an allowed address and answers the status, without following redirects', async () => {
    const received: string[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        received.push(`${request.headers['content-type']} ${body}`);
        response
          .writeHead(request.url === '/moved' ? 302 : 204, { location: 'http://169.254.169.254/' })
          .end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const options = { production: false, timeoutMs: 2000 };
      expect(
        await postChecked(
          `http://127.0.0.1:${port}/hook`,
          'a.b.c',
          { 'content-type': 'application/jose' },
          options,
        ),
      ).toBe(204);
      expect(await postChecked(`http://localhost:${port}/moved`, 'x', {}, options)).toBe(302);
      expect(received).toEqual(['application/jose a.b.c', 'undefined x']);
    } finally {
      server.close();
    }
  });

  it('refuses a name resolving to loopback in production before connecting', async () => {
    await expect(
      postChecked('https://localhost/hook', 'x', {}, { production: true, timeoutMs: 2000 }),
    ).rejects.toThrow(UnsafeUrlError);
  });
});

/** A loopback server for one test, counting the connections it accepts. */
async function loopback(handler: Parameters<typeof createServer>[1]) {
  const server = createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the overall deadline of an outbound call', () => {
  it('cuts a receiver that trickles its answer, though the socket is never idle for long', async () => {
    const trickle = await loopback((_request, response) => {
      // A valid start, then one more character of a header every 100 ms, never the end of the answer.
      response.socket?.write('HTTP/1.1 200 OK\r\nx-slow: ');
      const timer = setInterval(() => response.socket?.write('z'), 100);
      response.on('close', () => clearInterval(timer));
    });
    try {
      await expect(
        postChecked(`http://127.0.0.1:${trickle.port}/hook`, 'x', {}, { production: false, timeoutMs: 700 }),
      ).rejects.toThrow('no complete answer within 700 ms');
    } finally {
      await trickle.close();
    }
  });

  it('cuts an answer whose body trickles after complete headers', async () => {
    const trickle = await loopback((_request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      response.write('z');
      const timer = setInterval(() => response.write('z'), 100);
      response.on('close', () => clearInterval(timer));
    });
    try {
      await expect(
        postChecked(`http://127.0.0.1:${trickle.port}/hook`, 'x', {}, { production: false, timeoutMs: 700 }),
      ).rejects.toThrow('no complete answer within 700 ms');
    } finally {
      await trickle.close();
    }
  });

  it('cuts a connection that is accepted but never answered', async () => {
    const silent = await loopback(() => undefined);
    try {
      await expect(
        postChecked(`http://127.0.0.1:${silent.port}/hook`, 'x', {}, { production: false, timeoutMs: 300 }),
      ).rejects.toThrow('no complete answer within 300 ms');
    } finally {
      await silent.close();
    }
  });
});

describe(checkedLookup.name, () => {
  const resolve = (production: boolean) =>
    new Promise<string>((done, fail) =>
      checkedLookup(production)('localhost', { family: 4 }, (error, address) =>
        error ? fail(error) : done(String(address)),
      ),
    );

  it('refuses, when a connection is made in production, a name that resolves to loopback', async () => {
    await expect(resolve(true)).rejects.toThrow(UnsafeUrlError);
  });

  it('lets development and tests connect to loopback', async () => {
    await expect(resolve(false)).resolves.toBe('127.0.0.1');
  });
});

describe(checkedFetch.name, () => {
  it('serves jose a remote JWKS, checking the address on every fetch', async () => {
    let served = 0;
    const jwks = await loopback((_request, response) => {
      served++;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    try {
      const fetchJwks = checkedFetch({ production: false, timeoutMs: 2000 });
      for (let i = 0; i < 2; i++) {
        const response = await fetchJwks(`http://localhost:${jwks.port}/jwks.json`, {
          headers: new Headers(),
        });
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ keys: [] });
      }
      expect(served).toBe(2);
      // jose hands it every fetch of the key set.
      const keys = createRemoteJWKSet(new URL(`http://localhost:${jwks.port}/jwks.json`), {
        [customFetch]: fetchJwks,
      });
      await keys.reload();
      expect(served).toBe(3);
    } finally {
      await jwks.close();
    }
  });

  it('refuses a key set on loopback in production without connecting to it', async () => {
    const jwks = await loopback((_request, response) => response.writeHead(200).end('{"keys":[]}'));
    try {
      const fetchJwks = checkedFetch({ production: true, timeoutMs: 2000 });
      await expect(
        fetchJwks(`https://localhost:${jwks.port}/jwks.json`, { headers: new Headers() }),
      ).rejects.toThrow(UnsafeUrlError);
      expect(jwks.connections()).toBe(0);
    } finally {
      await jwks.close();
    }
  });
});
