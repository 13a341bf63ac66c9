/**
 * The time as the platform's planning sees it: when deadlines and reminders
 * fall, what is due. One provider, so tests move time by replacing it
 * (`overrideProvider(Clock)`) instead of waiting days.
 */
export class Clock {
  now(): Date {
    return new Date();
  }
}

/** A clock that stands still until moved; for tests and benchmarks. */
export class ManualClock extends Clock {
  constructor(private current: Date = new Date()) {
    super();
  }

  override now(): Date {
    return new Date(this.current.getTime());
  }

  set(to: Date): void {
    this.current = new Date(to.getTime());
  }

  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

const MONTREAL_DAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Montreal' });

const HOUR_MS = 3_600_000;
/** The last hour asked about, and its day: Montréal's days begin on a whole UTC hour, so an hour has one day. */
let lastHour = NaN;
let lastDay = '';

/** The day (`YYYY-MM-DD`) it is in Montréal at `at`: the day the indicators count an event in. */
export function montrealDay(at: Date): string {
  const hour = Math.floor(at.getTime() / HOUR_MS);
  if (hour !== lastHour) {
    lastDay = MONTREAL_DAY.format(at);
    lastHour = hour;
  }
  return lastDay;
}
