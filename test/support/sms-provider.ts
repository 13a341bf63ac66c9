import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SmsRequest {
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** How the provider answers: a status and a JSON body, or no answer at all (a hung provider). */
export type SmsAnswer = { status: number; body?: unknown } | 'hang';

/** A real HTTP server standing for the SMS provider: records every request, answers as told. */
export class TestSmsProvider {
  readonly requests: SmsRequest[] = [];
  answer: SmsAnswer = { status: 202, body: { id: 'sms-1', status: 'accepted' } };
  private readonly server: Server;

  constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.requests.push({
          headers: request.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
        });
        const answer = this.answer;
        if (answer === 'hang') return;
        response.writeHead(answer.status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(answer.body ?? {}));
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/messages`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
