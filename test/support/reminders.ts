import { randomUUID } from 'node:crypto';
import { withClient } from './database.js';
import type { RunningVault } from './vault-app.js';

export interface SeedOptions {
  citizenId: string;
  count: number;
  /** When they leave; default a minute ago, so they are due now. */
  sendAt?: Date;
  status?: 'scheduled' | 'queued';
  kind?: string;
  organisationId?: string;
  serviceId?: string;
  /** The deadline's date; default 7 days after sendAt. */
  dueAt?: Date;
}

/**
 * Reminder rows as planning leaves them: one open deadline of a service per
 * reminder, each reminder 7 days before it. The reminder ids, in order.
 */
export async function seedReminders(databaseUrl: string, options: SeedOptions): Promise<string[]> {
  const sendAt = options.sendAt ?? new Date(Date.now() - 60_000);
  const dueAt = options.dueAt ?? new Date(sendAt.getTime() + 7 * 86_400_000);
  const ids = Array.from({ length: options.count }, () => ({
    deadline: randomUUID(),
    reminder: randomUUID(),
  }));
  await withClient(databaseUrl, async (client) => {
    await client.query(
      `INSERT INTO deadline (citizen_id, id, kind, organisation_id, service_id, title, action_url, due_at)
       SELECT $1, d, $2, $3, $4, $5, 'https://saaq.gouv.qc.ca/permis', $6 FROM unnest($7::uuid[]) AS d`,
      [
        options.citizenId,
        options.kind ?? 'licence-renewal',
        options.organisationId ?? 'SAAQ',
        options.serviceId ?? 'saaq-permis',
        JSON.stringify({ fr: 'Renouveler le permis de conduire', en: 'Renew the driver’s licence' }),
        dueAt,
        ids.map((id) => id.deadline),
      ],
    );
    await client.query(
      `INSERT INTO reminder (citizen_id, id, deadline_id, offset_days, planned_at, send_at, status, queued_at, lease_until)
       SELECT $1, r, d, 7, $2, $2, $3, CASE WHEN $3 = 'queued' THEN $2::timestamptz END,
              CASE WHEN $3 = 'queued' THEN now() + interval '1 hour' END
       FROM unnest($4::uuid[], $5::uuid[]) AS t (r, d)`,
      [
        options.citizenId,
        sendAt,
        options.status ?? 'scheduled',
        ids.map((id) => id.reminder),
        ids.map((id) => id.deadline),
      ],
    );
  });
  return ids.map((id) => id.reminder);
}

export interface ReminderRow {
  id: string;
  status: string;
  reason: string | null;
  attempts: number;
  sent_at: Date | null;
}

export async function reminderRows(databaseUrl: string, ids: string[]): Promise<ReminderRow[]> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query(
      `SELECT id, status, reason, attempts, sent_at FROM reminder WHERE id = ANY ($1) ORDER BY id`,
      [ids],
    );
    return rows as ReminderRow[];
  });
}

/** Waits until none of these reminders is scheduled or queued any more; their rows. */
export async function settled(
  databaseUrl: string,
  ids: string[],
  timeoutMs = 60_000,
): Promise<ReminderRow[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const rows = await reminderRows(databaseUrl, ids);
    if (rows.every((row) => row.status !== 'scheduled' && row.status !== 'queued')) return rows;
    if (Date.now() > end) {
      const open = rows.filter((row) => row.status === 'scheduled' || row.status === 'queued');
      throw new Error(`${open.length} of ${ids.length} reminders still open: ${JSON.stringify(open[0])}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The citizen behind a subject of the test identity provider, with these
 * preferences. No quiet hours unless given (a window from a time to itself is
 * none), so a test on the wall clock sends at any hour it runs.
 */
export async function citizenWithPreferences(
  databaseUrl: string,
  subject: string,
  preferences: {
    language: 'fr' | 'en';
    channels: { email: boolean; sms: boolean; portal: boolean };
    quietHours?: { start: string; end: string };
  },
): Promise<string> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query(
      `UPDATE citizen SET language = $2, channels = $3, quiet_hours = $4 WHERE subject = $1 RETURNING id`,
      [
        subject,
        preferences.language,
        JSON.stringify(preferences.channels),
        JSON.stringify(preferences.quietHours ?? { start: '00:00', end: '00:00' }),
      ],
    );
    if (rows.length !== 1) throw new Error(`no citizen ${subject}`);
    return (rows[0] as { id: string }).id;
  });
}

/**
 * A citizen of the vault with these contact details (declared through the
 * vault, so encrypted as any other) and these preferences; their id.
 */
export async function reminderCitizen(
  vault: RunningVault,
  subject: string,
  contact: { email?: string; phone?: string },
  preferences: Parameters<typeof citizenWithPreferences>[2],
): Promise<string> {
  const auth = await vault.auth(subject);
  await vault.http.get('/v1/me').set(auth).expect(200);
  for (const [code, value] of [
    ['contact.email', contact.email],
    ['contact.phone', contact.phone],
  ] as const) {
    if (value) await vault.http.put(`/v1/me/attributes/${code}`).set(auth).send({ value }).expect(200);
  }
  return citizenWithPreferences(vault.db.url, subject, preferences);
}
