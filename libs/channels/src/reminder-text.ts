import type { Label } from '#libs/catalogue';
import type { Language } from './channel.js';

/** Where deadlines fall and reminders are dated: Québec's time zone, daylight-saving changes included. */
export const REMINDER_ZONE = 'America/Montreal';

const SMS_LIMIT = 160;

/** What a reminder says, before it is put in words. */
export interface ReminderFacts {
  /** A deadline kind of the catalogue; a kind without wording of its own gets the generic one. */
  kind: string;
  title: Label;
  dueAt: Date;
  /** When the reminder leaves, to count the days left. */
  now: Date;
  actionUrl: string | null;
  organisation: Label;
  language: Language;
}

export interface ReminderText {
  subject: string;
  text: string;
  html: string;
  /** At most 160 characters. */
  sms: string;
}

/** What the citizen is asked to do, per deadline kind; a kind not listed is worded by the deadline's title. */
const KIND_ACTIONS: Record<string, Label> = {
  'health-card-renewal': {
    fr: 'Renouvelez votre carte d’assurance maladie',
    en: 'Renew your health insurance card',
  },
  'licence-renewal': { fr: 'Renouvelez votre permis de conduire', en: 'Renew your driver’s licence' },
  'tax-filing': { fr: 'Produisez votre déclaration de revenus', en: 'File your income tax return' },
  'benefit-renewal': { fr: 'Renouvelez votre prestation', en: 'Renew your benefit' },
};

const WORDS = {
  fr: {
    subject: (action: string, when: string) => `Rappel : ${action} — ${when}`,
    hello: 'Bonjour,',
    due: (date: string) => `à faire au plus tard le ${date}`,
    online: 'Pour le faire en ligne :',
    from: (organisation: string) =>
      `Ce rappel vous est envoyé par Une fois au nom de : ${organisation}. Vous choisissez vos moyens de rappel dans vos préférences.`,
    days: (n: number) => (n <= 0 ? 'aujourd’hui' : n === 1 ? 'demain' : `dans ${n} jours`),
    before: 'avant le',
  },
  en: {
    subject: (action: string, when: string) => `Reminder: ${action} — ${when}`,
    hello: 'Hello,',
    due: (date: string) => `to be done by ${date}`,
    online: 'To do it online:',
    from: (organisation: string) =>
      `This reminder is sent by Une fois on behalf of: ${organisation}. You choose how you are reminded in your preferences.`,
    days: (n: number) => (n <= 0 ? 'today' : n === 1 ? 'tomorrow' : `in ${n} days`),
    before: 'by',
  },
} as const;

/**
 * Formats made once and kept: building an Intl.DateTimeFormat (or a luxon
 * DateTime per call) costs far more than formatting with one, and every
 * reminder sent is dated this way.
 */
const CALENDAR_DAY = new Intl.DateTimeFormat('en-CA', {
  timeZone: REMINDER_ZONE,
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
});
const dueFormat = (locale: string, options: Intl.DateTimeFormatOptions) =>
  new Intl.DateTimeFormat(locale, { timeZone: REMINDER_ZONE, year: 'numeric', day: 'numeric', ...options });
const LONG: Intl.DateTimeFormatOptions = { month: 'long', hour: 'numeric', minute: '2-digit' };
const DUE_FORMATS: Record<Language, Record<'long' | 'short', Intl.DateTimeFormat>> = {
  fr: {
    long: dueFormat('fr-CA', { ...LONG, hourCycle: 'h23' }),
    short: dueFormat('fr-CA', { month: 'short' }),
  },
  en: {
    long: dueFormat('en-CA', { ...LONG, hour12: true }),
    short: dueFormat('en-CA', { month: 'short' }),
  },
};

type DateParts = Partial<Record<Intl.DateTimeFormatPartTypes, string>>;

function partsOf(format: Intl.DateTimeFormat, date: Date): DateParts {
  const parts: DateParts = {};
  for (const part of format.formatToParts(date)) parts[part.type] = part.value;
  return parts;
}

/**
 * A pure function's results kept for keys seen again (every reminder of a
 * filing season shares its due date), at most `limit` of them: emptied when
 * full.
 */
function memo<K, V>(limit: number, compute: (key: K) => V): (key: K) => V {
  const kept = new Map<K, V>();
  return (key) => {
    let value = kept.get(key);
    if (value === undefined) {
      if (kept.size >= limit) kept.clear();
      value = compute(key);
      kept.set(key, value);
    }
    return value;
  };
}

const HOUR_MS = 3_600_000;

/**
 * The calendar day in Québec of each UTC hour, as a day number (days since
 * 1970-01-01): Québec's offsets from UTC are whole hours, so a local day
 * starts and ends on a UTC hour and every instant of that hour has its day.
 */
const dayOfHour = memo(4096, (hour: number) => {
  const { year, month, day } = partsOf(CALENDAR_DAY, new Date(hour * HOUR_MS));
  return Date.UTC(Number(year), Number(month) - 1, Number(day)) / 86_400_000;
});

/** The calendar day of `date` in Québec, as a day number (days since 1970-01-01). */
function localDay(date: Date): number {
  return dayOfHour(Math.floor(date.getTime() / HOUR_MS));
}

/** Calendar days from `now` to `dueAt`, in Québec's time zone. */
export function daysLeft(now: Date, dueAt: Date): number {
  return localDay(dueAt) - localDay(now);
}

/**
 * The due date and time as the citizen reads it, in Québec's time zone:
 * `14 décembre 2026 à 23 h 30`, `December 14, 2026 at 11:30 p.m.`; short,
 * `14 déc. 2026`, `Dec 14, 2026`. Assembled from the parts, so the wording
 * does not follow a change of the locale data's patterns.
 */
export function formatDue(dueAt: Date, language: Language, style: 'long' | 'short' = 'long'): string {
  return DUE_TEXTS[language][style](dueAt.getTime());
}

const dueText = (language: Language, style: 'long' | 'short') =>
  memo(4096, (time: number) => {
    const { year, month, day, hour, minute, dayPeriod } = partsOf(DUE_FORMATS[language][style], new Date(time));
    if (style === 'short') return language === 'fr' ? `${day} ${month} ${year}` : `${month} ${day}, ${year}`;
    return language === 'fr'
      ? `${day} ${month} ${year} à ${hour} h ${minute}`
      : `${month} ${day}, ${year} at ${hour}:${minute} ${dayPeriod}`;
  });
const DUE_TEXTS: Record<Language, Record<'long' | 'short', (time: number) => string>> = {
  fr: { long: dueText('fr', 'long'), short: dueText('fr', 'short') },
  en: { long: dueText('en', 'long'), short: dueText('en', 'short') },
};

/** The subject, text, HTML and SMS of a reminder, in the citizen's language. */
export function reminderText(facts: ReminderFacts): ReminderText {
  const { language } = facts;
  const words = WORDS[language];
  const title = facts.title[language];
  const action = KIND_ACTIONS[facts.kind]?.[language] ?? title;
  const organisation = facts.organisation[language];
  const when = words.days(daysLeft(facts.now, facts.dueAt));
  const due = words.due(formatDue(facts.dueAt, language));
  const subject = words.subject(action, when);
  const lines = [
    words.hello,
    '',
    `${action} (${when}).`,
    // No full stop after the date: the English time already ends with one (`p.m.`).
    action === title ? capitalise(due) : `${title} — ${due}`,
    ...(facts.actionUrl ? ['', words.online, facts.actionUrl] : []),
    '',
    words.from(organisation),
  ];
  const html = [
    `<!doctype html><html lang="${language}"><head><meta charset="utf-8"><title>${escape(subject)}</title></head><body>`,
    `<p>${escape(words.hello)}</p>`,
    `<p><strong>${escape(action)}</strong> (${escape(when)}).<br>`,
    `${escape(action === title ? capitalise(due) : `${title} — ${due}`)}</p>`,
    facts.actionUrl
      ? `<p>${escape(words.online)} <a href="${escape(facts.actionUrl)}">${escape(facts.actionUrl)}</a></p>`
      : '',
    `<p>${escape(words.from(organisation))}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject, text: lines.join('\n'), html, sms: smsText(facts, action, when) };
}

/** `Une fois : <action> avant le <date> (<when>). <url>`, the action shortened, then the URL dropped, to fit 160. */
function smsText(facts: ReminderFacts, action: string, when: string): string {
  const words = WORDS[facts.language];
  const tail = ` ${words.before} ${formatDue(facts.dueAt, facts.language, 'short')} (${when}).`;
  const head = facts.language === 'fr' ? 'Une fois : ' : 'Une fois: ';
  const room = SMS_LIMIT - head.length - tail.length;
  const shortened = action.length <= room ? action : `${action.slice(0, Math.max(0, room - 1))}…`;
  const text = `${head}${shortened}${tail}`;
  const withUrl = facts.actionUrl ? `${text} ${facts.actionUrl}` : text;
  return withUrl.length <= SMS_LIMIT ? withUrl : text;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function escape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
