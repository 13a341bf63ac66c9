import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

export interface SmtpSink {
  port: number;
  /** Messages accepted so far. */
  received(): number;
  /** Distinct Message-IDs among them. */
  distinct(): number;
  close(): Promise<void>;
}

const END_OF_DATA = '\r\n.\r\n';

/**
 * The least an SMTP server can do: answer each command, take STARTTLS, and
 * count the messages it accepts (by Message-ID), parsing nothing else. The
 * benchmark's floor and the scheduler write to it alike, so what it costs is
 * the same on both sides and small next to what is measured.
 */
export async function startSmtpSink(tls: { key: Buffer; cert: Buffer }): Promise<SmtpSink> {
  let received = 0;
  const ids = new Set<string>();
  const sockets = new Set<Socket>();

  const serve = (socket: Socket, secure: boolean) => {
    let buffer = '';
    let inData = false;
    let head = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      // The replies to what one chunk held leave in one write, as a real server answers pipelined commands.
      socket.cork();
      try {
        answer();
      } finally {
        socket.uncork();
      }
    };
    const answer = () => {
      for (;;) {
        if (inData) {
          if (head.length < 4096) head += buffer.slice(0, 4096);
          const end = buffer.indexOf(END_OF_DATA);
          if (end < 0) {
            // Keep the tail: the end marker may straddle two chunks.
            buffer = buffer.slice(Math.max(0, buffer.length - END_OF_DATA.length));
            return;
          }
          buffer = buffer.slice(end + END_OF_DATA.length);
          inData = false;
          received++;
          const id = /^message-id:\s*(\S+)/im.exec(head)?.[1];
          if (id) ids.add(id);
          head = '';
          socket.write('250 2.0.0 accepted\r\n');
          continue;
        }
        const newline = buffer.indexOf('\r\n');
        if (newline < 0) return;
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') {
          socket.write(
            secure ? '250-sink\r\n250-8BITMIME\r\n250 PIPELINING\r\n' : '250-sink\r\n250-8BITMIME\r\n250 STARTTLS\r\n',
          );
        } else if (verb === 'STAR' && !secure) {
          socket.removeListener('data', onData);
          socket.write('220 2.0.0 ready\r\n', () => {
            const upgraded = new TLSSocket(socket, { isServer: true, key: tls.key, cert: tls.cert });
            sockets.add(upgraded);
            upgraded.on('error', () => upgraded.destroy());
            upgraded.on('close', () => sockets.delete(upgraded));
            serve(upgraded, true);
          });
          return;
        } else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 2.0.0 bye\r\n');
          return;
        } else {
          socket.write('250 2.0.0 ok\r\n');
        }
      }
    };
    socket.on('data', onData);
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
    socket.write('220 sink ESMTP\r\n');
    serve(socket, false);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    received: () => received,
    distinct: () => ids.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
