import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** What the server answers to each recipient: accept, or an SMTP error with this code. */
export type Answer = 'accept' | { code: number; message: string };

/**
 * A real SMTP server on loopback that keeps every message it accepts,
 * parsed; tests read what a citizen would receive, and can make it refuse.
 */
export class MailCatcher {
  readonly messages: ParsedMail[] = [];
  /** Connection errors, such as the reset of a client that was killed mid-session: a server's lot, not a test's failure. */
  readonly connectionErrors: Error[] = [];
  answer: Answer = 'accept';
  /** How long the server takes over each message before accepting it: a run of sends a test can interrupt. */
  delayMs = 0;
  private readonly server: SMTPServer;
  private port = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo: (_address, _session, callback) => {
        if (this.answer === 'accept') return callback();
        const error = new Error(this.answer.message) as Error & { responseCode: number };
        error.responseCode = this.answer.code;
        callback(error);
      },
      onData: (stream, _session, callback) => {
        simpleParser(stream)
          .then(async (mail) => {
            if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
            this.messages.push(mail);
            callback();
          })
          .catch(callback);
      },
    });
    this.server.on('error', (error) => this.connectionErrors.push(error));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  messageIds(): string[] {
    return this.messages.map((mail) => mail.messageId ?? '');
  }

  async waitFor(count: number, timeoutMs = 30_000): Promise<ParsedMail[]> {
    const end = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > end) throw new Error(`${this.messages.length} messages, expected ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.messages;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
