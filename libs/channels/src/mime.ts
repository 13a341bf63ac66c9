import { randomUUID } from 'node:crypto';
import { domainToASCII } from 'node:url';

/** A reminder e-mail's parts, as composeMail puts them in a message. */
export interface MailParts {
  from: MailSender;
  /** The recipient's address alone. */
  to: string;
  /** With its angle brackets. */
  messageId: string;
  date: Date;
  language: string;
  subject: string;
  text: string;
  html: string;
  attachment: { filename: string; contentType: string; content: string };
}

/** The sender, checked and written once (mailSender): the envelope's address and the From header's value. */
export interface MailSender {
  address: string;
  header: string;
}

/** A composed message: the SMTP envelope and the RFC 5322 text, CRLF line ends. */
export interface ComposedMail {
  envelope: { from: string; to: string };
  raw: string;
}

/** Why an address cannot be written in a message: permanent, and it names no address. */
export class UnsendableAddressError extends Error {
  constructor(readonly role: 'sender' | 'recipient') {
    super(`${role} address not sendable`);
    this.name = 'UnsendableAddressError';
  }
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** RFC 5322 atext, and dots between atoms: a local part that needs no quoting. */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/**
 * `local@domain` ready for the envelope and a header: the domain in ASCII
 * (IDNA), the local part a dot-atom. An address that would need SMTPUTF8
 * or quoting, or that holds a line break, is refused rather than mangled.
 */
export function mailAddress(address: string, role: 'sender' | 'recipient'): string {
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = at > 0 ? domainToASCII(address.slice(at + 1)) : '';
  if (!DOT_ATOM.test(local) || !domain || !/^[A-Za-z0-9.-]+$/.test(domain) || local.length > 64) {
    throw new UnsendableAddressError(role);
  }
  return `${local}@${domain}`;
}

/** `Name <local@domain>` or `local@domain`: the display name (maybe empty) and the address. */
export function splitMailbox(mailbox: string): { name: string; address: string } {
  const match = /^\s*(.*?)\s*<([^<>]+)>\s*$/.exec(mailbox);
  return match
    ? { name: match[1].replace(/^"(.*)"$/, '$1'), address: match[2] }
    : { name: '', address: mailbox.trim() };
}

/** `Name <local@domain>` or `local@domain` as a sender; UnsendableAddressError when mail cannot leave from it. */
export function mailSender(mailbox: string): MailSender {
  const { name, address } = splitMailbox(mailbox);
  const ascii = mailAddress(address, 'sender');
  return { address: ascii, header: name ? `${displayName(name)} <${ascii}>` : ascii };
}

/**
 * A header value as RFC 2047 encoded words when it is not plain ASCII:
 * base64 of UTF-8, each word of 64 characters at most, cut between
 * characters, folded onto continuation lines.
 */
export function encodeWords(value: string): string {
  if (PRINTABLE_ASCII.test(value)) return value;
  const words: string[] = [];
  let chunk = '';
  for (const character of value) {
    // 39 bytes of UTF-8 make 52 of base64, 64 with `=?UTF-8?B?` and `?=`: within 78 after a header's name.
    if (Buffer.byteLength(chunk + character) > 39) {
      words.push(chunk);
      chunk = '';
    }
    chunk += character;
  }
  words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${Buffer.from(word).toString('base64')}?=`).join('\r\n ');
}

/** A display name: encoded words when not ASCII, else a quoted string. */
function displayName(name: string): string {
  if (!PRINTABLE_ASCII.test(name)) return encodeWords(name);
  return `"${name.replace(/(["\\])/g, '\\$1')}"`;
}

/** Base64 in lines of 76 characters. */
function base64Lines(content: string): string {
  return Buffer.from(content)
    .toString('base64')
    .replace(/.{76}(?=.)/g, '$&\r\n');
}

function part(contentType: string, content: string, disposition?: string): string {
  return (
    `Content-Type: ${contentType}\r\n` +
    'Content-Transfer-Encoding: base64\r\n' +
    (disposition ? `Content-Disposition: ${disposition}\r\n` : '') +
    `\r\n${base64Lines(content)}\r\n`
  );
}

/** RFC 5322 date-time in UTC: `Thu, 03 Dec 2026 14:07:46 +0000`. */
function mailDate(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/**
 * A reminder as an RFC 5322 / MIME message: the text and HTML as
 * alternatives, the calendar attached, every body part in base64 (so no line
 * is too long and none starts with a dot), non-ASCII headers as encoded words.
 * Written directly rather than through a general composer: a reminder has one
 * shape, and composing is most of what a send costs.
 */
export function composeMail(parts: MailParts): ComposedMail {
  const to = mailAddress(parts.to, 'recipient');
  if (!/^<[\x21-\x3b\x3d\x3f-\x7e]+@[A-Za-z0-9.-]+>$/.test(parts.messageId)) {
    throw new Error('Message-ID not an RFC 5322 msg-id');
  }
  // Base64 never holds `=_`, so no body line can be taken for a boundary. randomUUID draws from a
  // buffered pool: a fresh randomBytes per message costs a system call.
  const unique = randomUUID();
  const mixed = `=_mixed_${unique}`;
  const alternative = `=_alt_${unique}`;
  const { attachment } = parts;
  const headers = [
    `From: ${parts.from.header}`,
    `To: ${to}`,
    `Subject: ${encodeWords(parts.subject.replace(/[\r\n]+/g, ' '))}`,
    `Date: ${mailDate(parts.date)}`,
    `Message-ID: ${parts.messageId}`,
    `Content-Language: ${parts.language}`,
    // RFC 3834: an automatic message, not to be answered by an auto-responder.
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed;\r\n boundary="${mixed}"`,
  ];
  const raw =
    `${headers.join('\r\n')}\r\n\r\n` +
    `--${mixed}\r\n` +
    `Content-Type: multipart/alternative;\r\n boundary="${alternative}"\r\n\r\n` +
    `--${alternative}\r\n${part('text/plain; charset=utf-8', parts.text.replace(/\r?\n/g, '\r\n'))}` +
    `--${alternative}\r\n${part('text/html; charset=utf-8', parts.html.replace(/\r?\n/g, '\r\n'))}` +
    `--${alternative}--\r\n` +
    `--${mixed}\r\n${part(attachment.contentType, attachment.content, `attachment; filename="${attachment.filename}"`)}` +
    `--${mixed}--\r\n`;
  return { envelope: { from: parts.from.address, to }, raw };
}
