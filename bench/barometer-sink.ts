import { createServer } from 'node:https';

/**
 * A barometer that takes every batch of metric events (202) and keeps
 * nothing, over https as production requires: the relay's work in the
 * background of a benchmark is then what it is with a barometer up — each
 * event claimed, sent and marked once.
 */
export async function startBarometerSink(tls: { key: Buffer; cert: Buffer }) {
  let events = 0;
  const server = createServer(tls, (request, response) => {
    let bytes = 0;
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => {
      if (bytes > 0) events++;
      response.writeHead(202, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    batches: () => events,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
