// A local mail catcher for the demo: an SMTP server that keeps what it
// receives in memory, logs one line per message and shows the messages on a
// small web page (and as JSON). Never for production: it accepts any mail
// from anyone on this machine.
import { createServer } from 'node:http';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const escape = (text) =>
  String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** Starts the catcher on loopback; answers its addresses and a way to stop it. */
export async function startMailCatcher({ smtpPort = 1025, webPort = 1080, log = () => {} } = {}) {
  const messages = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 5 * 1024 * 1024,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          const message = {
            receivedAt: new Date().toISOString(),
            messageId: mail.messageId,
            from: mail.from?.text,
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            subject: mail.subject,
            language: mail.headers.get('content-language') ?? null,
            text: mail.text,
            attachments: mail.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType })),
          };
          messages.push(message);
          log(message);
          callback();
        })
        .catch(callback);
    },
  });
  // A client that goes away mid-session (a scheduler stopped or killed) resets its connection: not the catcher's end.
  smtp.on('error', () => {});
  const web = createServer((req, res) => {
    if (req.url === '/messages.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(messages));
      return;
    }
    const rows = messages
      .slice()
      .reverse()
      .map(
        (m) => `<article><h2>${escape(m.subject)}</h2>
<p><strong>To:</strong> ${escape(m.to.join(', '))} · <strong>Received:</strong> ${escape(m.receivedAt)} ·
<strong>Message-ID:</strong> ${escape(m.messageId)}${m.attachments.length ? ` · <strong>Attachments:</strong> ${escape(m.attachments.map((a) => a.filename ?? a.contentType).join(', '))}` : ''}</p>
<pre>${escape(m.text)}</pre></article>`,
      )
      .join('\n');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="fr"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Courriels reçus — Une fois (démo)</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#223654}
article{border-top:1px solid #ccc;padding:.5rem 0}pre{white-space:pre-wrap;background:#f1f1f2;padding:.75rem}</style></head>
<body><h1>Courriels reçus (démo) / Mail received (demo)</h1>
<p>${messages.length} message(s). <a href="/messages.json">JSON</a></p>${rows || '<p>Aucun message pour le moment. / No message yet.</p>'}</body></html>`);
  });
  await new Promise((resolve, reject) => {
    smtp.once('error', reject);
    smtp.listen(smtpPort, '127.0.0.1', resolve);
  });
  await new Promise((resolve, reject) => {
    web.once('error', reject);
    web.listen(webPort, '127.0.0.1', resolve);
  });
  return {
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    webUrl: `http://localhost:${webPort}`,
    messages,
    async stop() {
      await new Promise((resolve) => smtp.close(resolve));
      await new Promise((resolve) => web.close(resolve));
    },
  };
}
