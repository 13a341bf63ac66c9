import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import ICAL from 'ical.js';
import { DataSource } from 'typeorm';
import {
  type Contacts,
  EmailChannel,
  PermanentChannelError,
  PortalChannel,
  type ReminderMessage,
  SmsChannel,
  smtpError,
  TransientChannelError,
} from '#libs/channels';
import { AppConfig } from '#libs/config';
import { dataSourceOptions } from '#libs/database';
import { deadlineCalendar } from '#libs/reminders';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { MailCatcher } from './support/mail-catcher.js';
import { TestSmsProvider } from './support/sms-provider.js';

const contacts: Contacts = { email: 'camille@exemple.ca', phone: '+15145550123' };

function message(overrides: Partial<ReminderMessage> = {}): ReminderMessage {
  const deadlineId = randomUUID();
  return {
    reminderId: randomUUID(),
    citizenId: randomUUID(),
    deadlineId,
    language: 'fr',
    subject: 'Rappel : Renouvelez votre permis de conduire — dans 7 jours',
    text: 'Bonjour,\n\nRenouvelez votre permis de conduire (dans 7 jours).',
    html: '<p>Bonjour,</p>',
    sms: 'Une fois : Renouvelez votre permis de conduire avant le 14 déc. 2026 (dans 7 jours).',
    actionUrl: 'https://saaq.gouv.qc.ca/permis',
    calendar: deadlineCalendar(
      [
        {
          id: deadlineId,
          title: { fr: 'Renouveler le permis', en: 'Renew the licence' },
          dueAt: new Date('2026-12-14T17:00:00Z'),
          actionUrl: 'https://saaq.gouv.qc.ca/permis',
          status: 'open',
          updatedAt: new Date('2026-11-01T12:00:00Z'),
        },
      ],
      'fr',
    ),
    ...overrides,
  };
}

const config = (extra: Record<string, string> = {}) =>
  AppConfig.fromEnvironment({ NODE_ENV: 'test', REMINDER_SEND_TIMEOUT_SECONDS: '1', ...extra });

describe(EmailChannel.name, () => {
  let mail: MailCatcher;
  let channel: EmailChannel;

  beforeAll(async () => {
    mail = await new MailCatcher().start();
    channel = new EmailChannel(
      config({ SMTP_URL: mail.url, MAIL_FROM: 'Une fois <rappels@une-fois.quebec>' }),
    );
  });
  afterAll(async () => {
    channel.onModuleDestroy();
    await mail.stop();
  });
  beforeEach(() => (mail.answer = 'accept'));

  it('sends the text, the HTML and the deadline as an .ics event, under a Message-ID from the reminder id', async () => {
    const sent = message();
    await expect(channel.send(sent, contacts)).resolves.toMatchObject({ status: 'sent' });
    const [received] = await mail.waitFor(1);
    expect(received.messageId).toBe(`<${sent.reminderId}@une-fois.quebec>`);
    expect(received.from?.value).toEqual([{ name: 'Une fois', address: 'rappels@une-fois.quebec' }]);
    expect(received.subject).toBe(sent.subject);
    expect(received.headers.get('content-language')).toBe('fr');
    expect(received.text).toContain('Renouvelez votre permis de conduire');
    expect(received.html).toContain('<p>Bonjour,</p>');
    const ics = received.attachments.find((part) => part.contentType === 'text/calendar');
    expect(ics?.filename).toBe('echeance.ics');
    const calendar = new ICAL.Component(ICAL.parse(ics!.content.toString('utf8')));
    expect(calendar.getFirstPropertyValue('method')).toBe('PUBLISH');
    const event = calendar.getFirstSubcomponent('vevent')!;
    expect(event.getFirstPropertyValue('uid')).toBe(`${sent.deadlineId}@une-fois`);
    expect(event.getFirstPropertyValue('summary')).toBe('Renouveler le permis');
  });

  it('takes a 5xx refusal as permanent and a 4xx one as transient, saying only the codes', async () => {
    // Servers quote the recipient in their answers: the error keeps the codes only.
    mail.answer = { code: 550, message: `5.1.1 <${contacts.email}>: No such mailbox` };
    const permanent = await channel.send(message(), contacts).catch((error: Error) => error);
    expect(permanent).toBeInstanceOf(PermanentChannelError);
    expect(permanent).toMatchObject({ message: 'SMTP 550 5.1.1' });
    mail.answer = { code: 451, message: `4.7.1 <${contacts.email}>: Try again later` };
    const transient = await channel.send(message(), contacts).catch((error: Error) => error);
    expect(transient).toBeInstanceOf(TransientChannelError);
    expect(transient).toMatchObject({ message: 'SMTP 451 4.7.1' });
    expect(JSON.stringify({ ...transient, stack: (transient as Error).stack })).not.toContain('@');
  });

  it('takes authentication answers (530, 535, 454) as transient: the server’s credentials get fixed', async () => {
    for (const code of [530, 535, 454]) {
      mail.answer = { code, message: 'Authentication required' };
      await expect(channel.send(message(), contacts)).rejects.toBeInstanceOf(TransientChannelError);
    }
    // nodemailer's EAUTH, when the login itself is refused.
    expect(smtpError({ code: 'EAUTH', responseCode: 535, response: '535 5.7.8 Bad credentials' })).toEqual(
      new TransientChannelError('SMTP 535 5.7.8'),
    );
    expect(smtpError({ code: 'ECONNECTION', message: 'connect ECONNREFUSED' })).toEqual(
      new TransientChannelError('SMTP ECONNECTION'),
    );
  });

  it('sends to an internationalised domain in IDNA form, and refuses for good an address that needs SMTPUTF8', async () => {
    const sent = message();
    const before = mail.messageIds().length;
    await channel.send(sent, { ...contacts, email: 'marie@exemple-é.ca' });
    const received = (await mail.waitFor(before + 1))[before];
    expect(received.messageId).toBe(`<${sent.reminderId}@une-fois.quebec>`);
    // As written on the wire (a parser shows the domain decoded again).
    expect(received.headerLines.find((header) => header.key === 'to')?.line).toBe(
      'To: marie@xn--exemple--i1a.ca',
    );
    const refused = await channel
      .send(message(), { ...contacts, email: 'marié@exemple.ca' })
      .catch((error: Error) => error);
    expect(refused).toEqual(new PermanentChannelError('SMTP recipient address not sendable'));
  });

  it('refuses to boot with a MAIL_FROM mail cannot be sent from', () => {
    expect(
      () => new EmailChannel(config({ SMTP_URL: mail.url, MAIL_FROM: 'Une fois <pas une adresse>' })),
    ).toThrow('MAIL_FROM: not an address mail can be sent from');
  });

  it('says why it cannot reach a citizen: no address, or no SMTP server', () => {
    expect(channel.unusable({ email: null, phone: null })).toBe('no e-mail address in the vault');
    expect(channel.unusable(contacts)).toBeNull();
    expect(new EmailChannel(config()).unusable(contacts)).toBe('no SMTP server configured');
  });
});

describe(`${EmailChannel.name} against a server that trickles its answers`, () => {
  let server: Server;
  const sockets: Socket[] = [];
  const closed: number[] = [];

  beforeAll(async () => {
    // A prompt greeting, then the answer to EHLO one byte a second: the connection never goes quiet
    // long enough for a socket timeout, and the greeting's own timeout has passed.
    server = createServer((socket) => {
      sockets.push(socket);
      socket.write('220 slow.example ESMTP ready\r\n');
      const answer = Buffer.from('250-slow.example at your service\r\n250 8BITMIME\r\n');
      let sent = -1;
      const timer = setInterval(() => {
        if (sent >= 0 && sent < answer.length) socket.write(answer.subarray(sent, ++sent));
      }, 1000);
      socket.once('data', () => (sent = 0));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        closed.push(Date.now());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('gives up within REMINDER_SEND_TIMEOUT_SECONDS overall, closing the connection, and tries a new one next time', async () => {
    const { port } = server.address() as { port: number };
    const channel = new EmailChannel(
      config({ SMTP_URL: `smtp://127.0.0.1:${port}`, REMINDER_SEND_TIMEOUT_SECONDS: '2' }),
    );
    try {
      for (const attempt of [1, 2]) {
        const started = Date.now();
        const error = await channel.send(message(), contacts).catch((caught: Error) => caught);
        const elapsed = Date.now() - started;
        expect(error).toBeInstanceOf(TransientChannelError);
        expect(error).toMatchObject({ message: 'SMTP no answer within 2000 ms' });
        expect(elapsed).toBeLessThan(3000);
        // The connection is gone, not left to the server.
        for (let i = 0; i < 20 && closed.length < attempt; i++) await new Promise((r) => setTimeout(r, 50));
        expect(closed).toHaveLength(attempt);
        expect(sockets).toHaveLength(attempt);
      }
    } finally {
      channel.onModuleDestroy();
    }
  });
});

describe(SmsChannel.name, () => {
  let provider: TestSmsProvider;
  let channel: SmsChannel;

  beforeAll(async () => {
    provider = await new TestSmsProvider().start();
    channel = new SmsChannel(config({ SMS_PROVIDER_URL: provider.url, SMS_PROVIDER_KEY: 'sms-key' }));
  });
  afterAll(() => provider.stop());

  it('posts {to, body} with the key and the reminder id as Idempotency-Key', async () => {
    provider.answer = { status: 202, body: { id: 'prov-7', status: 'queued' } };
    const sent = message();
    await expect(channel.send(sent, contacts)).resolves.toEqual({ status: 'sent', providerRef: 'prov-7' });
    const request = provider.requests.at(-1)!;
    expect(request.headers.authorization).toBe('Bearer sms-key');
    expect(request.headers['idempotency-key']).toBe(sent.reminderId);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.body).toEqual({ to: '+15145550123', body: sent.sms });
  });

  it('reports delivered when the provider says so', async () => {
    provider.answer = { status: 200, body: { id: 'prov-8', status: 'delivered' } };
    await expect(channel.send(message(), contacts)).resolves.toEqual({
      status: 'delivered',
      providerRef: 'prov-8',
    });
  });

  it('takes a 4xx as permanent but for 401, 403, 408, 409, 425 and 429; a 5xx or no answer in time as transient', async () => {
    for (const status of [400, 404, 422]) {
      provider.answer = { status, body: { error: `invalid number ${contacts.phone}` } };
      const error = await channel.send(message(), contacts).catch((caught: Error) => caught);
      expect(error).toBeInstanceOf(PermanentChannelError);
      expect(error).toMatchObject({ message: `SMS provider: HTTP ${status}` });
    }
    // 409: the same Idempotency-Key still in flight at the provider, not a refusal.
    for (const answer of [401, 403, 408, 409, 425, 429, 503].map((status) => ({ status }))) {
      provider.answer = answer;
      const error = await channel.send(message(), contacts).catch((caught: Error) => caught);
      expect(error).toBeInstanceOf(TransientChannelError);
      expect(error).toMatchObject({ message: `SMS provider: HTTP ${answer.status}` });
    }
    provider.answer = 'hang';
    const error = await channel.send(message(), contacts).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(TransientChannelError);
    expect(error).toMatchObject({ message: 'SMS provider: no answer' });
  });

  it('says why it cannot reach a citizen: no phone, or no provider configured', () => {
    expect(channel.unusable({ email: 'a@b.ca', phone: null })).toBe('no phone number in the vault');
    expect(new SmsChannel(config()).unusable(contacts)).toBe('no SMS provider configured');
  });
});

describe(PortalChannel.name, () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('reminder-channels');
    dataSource = await new DataSource(dataSourceOptions(db.url)).initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('writes the notification once, under the reminder id, however often it is sent', async () => {
    const citizenId = randomUUID();
    await dataSource.query(`INSERT INTO citizen (id, issuer, subject) VALUES ($1, 'test', $2)`, [
      citizenId,
      citizenId,
    ]);
    const channel = new PortalChannel(dataSource);
    const sent = message({ citizenId });
    await expect(channel.send(sent)).resolves.toEqual({ status: 'delivered' });
    await expect(channel.send({ ...sent, subject: 'again' })).resolves.toEqual({ status: 'delivered' });
    const rows = await dataSource.query(`SELECT id, subject, language, action_url FROM notification`);
    expect(rows).toEqual([
      { id: sent.reminderId, subject: sent.subject, language: 'fr', action_url: sent.actionUrl },
    ]);
    expect(channel.unusable()).toBeNull();
  });
});
