import { simpleParser } from 'mailparser';
import {
  composeMail,
  encodeWords,
  mailAddress,
  type MailParts,
  mailSender,
  UnsendableAddressError,
} from './mime.js';

const parts: MailParts = {
  from: mailSender('Une fois — Québec <rappels@une-fois.quebec>'),
  to: 'marie.tremblay@exemple.ca',
  messageId: '<0b6f1c3e-7d2a-4e8b-9f10-2a3b4c5d6e7f@une-fois.quebec>',
  date: new Date('2026-12-03T14:07:46Z'),
  language: 'fr',
  subject: 'Rappel : Renouvelez votre carte d’assurance maladie — dans 30 jours (échéance très prochaine)',
  text: 'Bonjour,\n\nRenouvelez votre carte.\n.\nUne ligne qui commence par un point.',
  html: '<p>Bonjour,</p>\n<p><strong>Renouvelez</strong> votre carte d’assurance maladie.</p>',
  attachment: {
    filename: 'echeance.ics',
    contentType: 'text/calendar; charset=utf-8; method=PUBLISH',
    content: 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nSUMMARY:Échéance\r\nEND:VCALENDAR\r\n',
  },
};

describe(composeMail.name, () => {
  it('writes a message a mail parser reads back whole: headers, text, HTML and the calendar', async () => {
    const { envelope, raw } = composeMail(parts);
    expect(envelope).toEqual({ from: 'rappels@une-fois.quebec', to: 'marie.tremblay@exemple.ca' });
    const mail = await simpleParser(raw);
    expect(mail.subject).toBe(parts.subject);
    expect(mail.from?.value).toEqual([{ name: 'Une fois — Québec', address: 'rappels@une-fois.quebec' }]);
    expect(mail.to).toMatchObject({ value: [{ address: 'marie.tremblay@exemple.ca' }] });
    expect(mail.messageId).toBe(parts.messageId);
    expect(mail.date?.toISOString()).toBe('2026-12-03T14:07:46.000Z');
    expect(mail.headers.get('content-language')).toBe('fr');
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail.text).toBe(parts.text);
    expect(mail.html).toBe(parts.html);
    expect(mail.attachments).toHaveLength(1);
    expect(mail.attachments[0]).toMatchObject({ filename: 'echeance.ics', contentType: 'text/calendar' });
    expect(mail.attachments[0].content.toString('utf8')).toBe(parts.attachment.content);
  });

  it('keeps every line within 78 characters, ends lines with CRLF, and starts none with a dot', () => {
    const { raw } = composeMail({ ...parts, text: 'é'.repeat(500) });
    const lines = raw.split('\r\n');
    expect(raw.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(78);
    expect(lines.some((line) => line.startsWith('.'))).toBe(false);
  });

  it('puts an internationalised domain in ASCII, and refuses addresses it cannot write as they are', () => {
    expect(mailAddress('marie@exemple-é.ca', 'recipient')).toBe('marie@xn--exemple--i1a.ca');
    for (const bad of [
      'marié@exemple.ca',
      'a@b@',
      'no-at-sign',
      'x@exemple.ca>\r\nBcc: y@z.ca',
      '"q"@exemple.ca',
    ]) {
      expect(() => mailAddress(bad, 'recipient')).toThrow(UnsendableAddressError);
    }
    expect(() => composeMail({ ...parts, to: 'a\r\n@exemple.ca' })).toThrow('recipient address not sendable');
  });

  it('leaves ASCII headers as they are and cuts encoded words between characters', () => {
    expect(encodeWords('Reminder: file your return')).toBe('Reminder: file your return');
    const encoded = encodeWords('é'.repeat(40));
    for (const word of encoded.split('\r\n ')) {
      expect(word.length).toBeLessThanOrEqual(64);
      expect(Buffer.from(word.slice(10, -2), 'base64').toString('utf8')).toMatch(/^é+$/);
    }
  });
});
