import fc from 'fast-check';
import { DateTime } from 'luxon';
import { daysLeft, formatDue, REMINDER_ZONE, reminderText, type ReminderFacts } from './reminder-text.js';

const facts: ReminderFacts = {
  kind: 'licence-renewal',
  title: { fr: 'Renouveler le permis de conduire', en: 'Renew the driver’s licence' },
  // 23:30 in Montréal on 14 December (04:30 UTC the next day): the date the citizen reads is the 14th.
  dueAt: new Date('2026-12-15T04:30:00Z'),
  now: new Date('2026-11-14T15:00:00Z'),
  actionUrl: 'https://saaq.gouv.qc.ca/permis/renouveler',
  organisation: { fr: 'Société de l’assurance automobile du Québec', en: 'SAAQ (automobile insurance)' },
  language: 'fr',
};

describe(reminderText.name, () => {
  it('writes the French reminder of a known kind, dated in Québec time, with the days left and the link', () => {
    const text = reminderText(facts);
    expect(text.subject).toBe('Rappel : Renouvelez votre permis de conduire — dans 30 jours');
    expect(text.text).toContain('14 décembre 2026 à 23 h 30');
    expect(text.text).toContain('https://saaq.gouv.qc.ca/permis/renouveler');
    expect(text.text).toContain('Société de l’assurance automobile du Québec');
    expect(text.html).toContain('<html lang="fr">');
    expect(text.html).toContain('<a href="https://saaq.gouv.qc.ca/permis/renouveler">');
    expect(text.sms).toBe(
      'Une fois : Renouvelez votre permis de conduire avant le 14 déc. 2026 (dans 30 jours). https://saaq.gouv.qc.ca/permis/renouveler',
    );
  });

  it('writes it in English when that is the citizen’s language', () => {
    const text = reminderText({ ...facts, language: 'en', now: new Date('2026-12-14T15:00:00Z') });
    expect(text.subject).toBe('Reminder: Renew your driver’s licence — today');
    expect(text.text).toContain('December 14, 2026 at 11:30 p.m.');
    expect(text.text).toContain('SAAQ (automobile insurance)');
    expect(text.html).toContain('<html lang="en">');
  });

  it('words an unknown kind by the deadline’s own title, and escapes it in HTML', () => {
    const text = reminderText({
      ...facts,
      kind: 'permit-<renewal>',
      title: { fr: 'Déposer <le> formulaire & la preuve', en: 'File the form' },
      actionUrl: null,
    });
    expect(text.subject).toBe('Rappel : Déposer <le> formulaire & la preuve — dans 30 jours');
    expect(text.html).toContain('Déposer &lt;le&gt; formulaire &amp; la preuve');
    expect(text.html).not.toContain('<le>');
    expect(text.text).not.toContain('http');
  });

  it('keeps the SMS within 160 characters: shortens a long title, drops a link that does not fit', () => {
    const long = reminderText({
      ...facts,
      kind: 'other',
      title: { fr: 'Très '.repeat(60), en: 'x' },
      actionUrl: `https://example.gouv.qc.ca/${'a'.repeat(150)}`,
    });
    expect(long.sms.length).toBeLessThanOrEqual(160);
    expect(long.sms).toContain('…');
    expect(long.sms).toContain('(dans 30 jours).');
    expect(long.sms).not.toContain('https://');
  });
});

describe(daysLeft.name, () => {
  it('counts calendar days in Québec, across the change from daylight-saving time', () => {
    // 1 November 2026: clocks go back. From 31 October noon to 2 November noon is two days.
    expect(daysLeft(new Date('2026-10-31T16:00:00Z'), new Date('2026-11-02T17:00:00Z'))).toBe(2);
    // Late evening in Montréal is already the next day in UTC: still the same day for the citizen.
    expect(daysLeft(new Date('2026-11-14T15:00:00Z'), new Date('2026-11-15T03:00:00Z'))).toBe(0);
  });

  it('agrees with luxon for any two instants, the last second before local midnight included', () => {
    const instant = fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2100, 0, 1) });
    // Instants near local midnight, where a day kept per UTC hour would go wrong if an offset were not whole hours.
    const nearMidnight = fc
      .tuple(instant, fc.integer({ min: -1, max: 1 }))
      .map(([time, side]) =>
        DateTime.fromMillis(time, { zone: REMINDER_ZONE }).startOf('day').toMillis() + side * 1000,
      );
    fc.assert(
      fc.property(fc.oneof(instant, nearMidnight), fc.oneof(instant, nearMidnight), (now, due) => {
        const day = (time: number) => DateTime.fromMillis(time, { zone: REMINDER_ZONE }).startOf('day');
        expect(daysLeft(new Date(now), new Date(due))).toBe(Math.round(day(due).diff(day(now), 'days').days));
      }),
      { numRuns: 2000 },
    );
  });
});

describe(formatDue.name, () => {
  it('formats in the citizen’s language', () => {
    expect(formatDue(new Date('2026-07-01T13:05:00Z'), 'fr')).toBe('1 juillet 2026 à 9 h 05');
    expect(formatDue(new Date('2026-07-01T13:05:00Z'), 'en')).toBe('July 1, 2026 at 9:05 a.m.');
  });

  it('dates midnight and noon in Québec time, long and short, across the change to daylight time', () => {
    // 00:00 in Montréal on 30 April 2027 (daylight time, UTC−4); 12:00 on 1 March 2027 (standard time, UTC−5).
    expect(formatDue(new Date('2027-04-30T04:00:00Z'), 'fr')).toBe('30 avril 2027 à 0 h 00');
    expect(formatDue(new Date('2027-04-30T04:00:00Z'), 'en')).toBe('April 30, 2027 at 12:00 a.m.');
    expect(formatDue(new Date('2027-03-01T17:00:00Z'), 'en')).toBe('March 1, 2027 at 12:00 p.m.');
    expect(formatDue(new Date('2027-03-01T17:00:00Z'), 'fr', 'short')).toBe('1 mars 2027');
    expect(formatDue(new Date('2027-03-01T17:00:00Z'), 'en', 'short')).toBe('Mar 1, 2027');
  });
});
