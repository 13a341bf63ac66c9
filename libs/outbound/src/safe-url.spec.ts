import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertSafeUrl, postChecked, UnsafeUrlError } from './safe-url.js';

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
