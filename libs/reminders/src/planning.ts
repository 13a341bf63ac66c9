import { DateTime } from 'luxon';

/** Deadlines fall, and quiet hours are kept, in Québec time. */
export const PLANNING_ZONE = 'America/Montreal';

/** A citizen's quiet hours, local wall times `HH:MM`: the window [start, end), wrapping midnight when end < start. */
export interface QuietWindow {
  start: string;
  end: string;
}

export interface PlanInput {
  dueAt: Date;
  /** Days before dueAt, one reminder each. */
  offsetsDays: readonly number[];
  quietHours: QuietWindow;
  /** The planning's now (the Clock): a reminder that would leave at or before it is skipped. */
  now: Date;
}

export interface PlannedReminder {
  offsetDays: number;
  /** dueAt minus offsetDays calendar days in America/Montreal, at the same wall-clock time. */
  plannedAt: Date;
  /** plannedAt moved out of quiet hours. */
  sendAt: Date;
  status: 'scheduled' | 'skipped';
  reason?: string;
}

export const SKIPPED_PAST = 'already past when the deadline was planned';
export const SKIPPED_TOO_LATE = 'its time out of the new quiet hours is at or after the due time';

/** One reminder per offset, each planned (plannedAt) and placed out of quiet hours (sendAt). */
export function planReminders(input: PlanInput): PlannedReminder[] {
  const due = DateTime.fromJSDate(input.dueAt, { zone: PLANNING_ZONE });
  return input.offsetsDays.map((offsetDays) => {
    const plannedAt = due.minus({ days: offsetDays }).toJSDate();
    const sendAt = placeOutOfQuietHours(plannedAt, input.quietHours, input.dueAt);
    return sendAt.getTime() <= input.now.getTime()
      ? { offsetDays, plannedAt, sendAt, status: 'skipped', reason: SKIPPED_PAST }
      : { offsetDays, plannedAt, sendAt, status: 'scheduled' };
  });
}

export interface ReplanInput {
  plannedAt: Date;
  dueAt: Date;
  quietHours: QuietWindow;
  /** The replanning's now (the Clock). Only a reminder still to leave (sendAt after now) is replanned. */
  now: Date;
}

/**
 * A scheduled reminder placed again after the citizen's quiet hours changed.
 * It was not yet due, so it is never lost: a new time at or before now means
 * it leaves now (or when the quiet hours in force now end). It is skipped
 * only if it would leave at or after the due time it was meant to precede
 * (a reminder planned at the due time itself, offset 0, still goes).
 */
export function replanReminder(input: ReplanInput): Pick<PlannedReminder, 'sendAt' | 'status' | 'reason'> {
  const now = input.now.getTime();
  const placed = placeOutOfQuietHours(input.plannedAt, input.quietHours, input.dueAt);
  const from =
    placed.getTime() > now ? placed : placeOutOfQuietHours(input.now, input.quietHours, input.dueAt);
  const sendAt = from.getTime() > now ? from : input.now;
  const due = input.dueAt.getTime();
  return sendAt.getTime() >= due && input.plannedAt.getTime() < due
    ? { sendAt, status: 'skipped', reason: SKIPPED_TOO_LATE }
    : { sendAt, status: 'scheduled' };
}

/**
 * When a reminder planned at `at` leaves: at once outside quiet hours; inside
 * them, at the window's end, or, if that end is at or after `dueAt`, at the
 * last minute before the window began. Wall times are read in
 * America/Montreal, so the result is right across daylight-saving changes.
 */
export function placeOutOfQuietHours(at: Date, quietHours: QuietWindow, dueAt: Date): Date {
  const window = parseWindow(quietHours);
  let t: DateTime<boolean> = DateTime.fromJSDate(at, { zone: PLANNING_ZONE });
  if (!window || !inWindow(t, window)) return at;
  const original = t;
  // A window end that falls in the spring-forward gap can land in the next window: step again.
  for (let i = 0; i < 4 && inWindow(t, window); i++) t = windowEnd(t, window);
  if (!inWindow(t, window) && t.toMillis() < dueAt.getTime()) return t.toJSDate();
  t = original;
  for (let i = 0; i < 4 && inWindow(t, window); i++) t = windowStart(t, window).minus({ minutes: 1 });
  return t.toJSDate();
}

/** Whether `at` falls inside the quiet hours (America/Montreal wall time). */
export function inQuietHours(at: Date, quietHours: QuietWindow): boolean {
  const window = parseWindow(quietHours);
  return window !== null && inWindow(DateTime.fromJSDate(at, { zone: PLANNING_ZONE }), window);
}

interface Window {
  start: number;
  end: number;
}

function parseWindow(quietHours: QuietWindow): Window | null {
  const start = minutesOf(quietHours.start);
  const end = minutesOf(quietHours.end);
  return start === end ? null : { start, end };
}

function minutesOf(hhmm: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (!match) throw new Error(`quiet hours must be HH:MM, not "${hhmm}"`);
  return Number(match[1]) * 60 + Number(match[2]);
}

const wraps = (w: Window) => w.end < w.start;

function inWindow(t: DateTime, w: Window): boolean {
  const m = t.hour * 60 + t.minute;
  return wraps(w) ? m >= w.start || m < w.end : m >= w.start && m < w.end;
}

/** The end of the window `t` is in. */
function windowEnd(t: DateTime, w: Window): DateTime {
  const m = t.hour * 60 + t.minute;
  const day = wraps(w) && m >= w.start ? t.plus({ days: 1 }) : t;
  return firstInstantAtOrAfter(day, w.end);
}

/** The beginning of the window `t` is in. */
function windowStart(t: DateTime, w: Window): DateTime {
  const m = t.hour * 60 + t.minute;
  const day = wraps(w) && m < w.end ? t.minus({ days: 1 }) : t;
  return firstInstantAtOrAfter(day, w.start);
}

/**
 * The first instant of that local day whose wall time reaches `minutes`. On
 * the spring-forward night a wall time in the skipped hour never happens: the
 * clock reaches it at the jump, which is where the window starts or ends.
 */
function firstInstantAtOrAfter(day: DateTime, minutes: number): DateTime {
  const hour = Math.floor(minutes / 60);
  const minute = minutes % 60;
  const local = DateTime.fromObject(
    { year: day.year, month: day.month, day: day.day, hour, minute },
    { zone: PLANNING_ZONE },
  );
  return local.hour === hour && local.minute === minute ? local : local.startOf('hour');
}
