import fc from 'fast-check';
import { DateTime } from 'luxon';
import {
  inQuietHours,
  placeOutOfQuietHours,
  planReminders,
  PLANNING_ZONE,
  replanReminder,
  SKIPPED_PAST,
  SKIPPED_TOO_LATE,
} from './planning.js';

const local = (iso: string) => DateTime.fromISO(iso, { zone: PLANNING_ZONE }).toJSDate();
const wall = (at: Date) => DateTime.fromJSDate(at, { zone: PLANNING_ZONE }).toFormat("yyyy-MM-dd'T'HH:mmZZ");
const NIGHT = { start: '21:00', end: '08:00' };
const NONE = { start: '00:00', end: '00:00' };

describe(planReminders.name, () => {
  it('keeps the wall-clock time across the spring change (2027-03-14)', () => {
    const [seven] = planReminders({
      dueAt: local('2027-03-20T10:00'),
      offsetsDays: [7],
      quietHours: NONE,
      now: local('2027-01-01T00:00'),
    });
    expect(wall(seven.plannedAt)).toBe('2027-03-13T10:00-05:00');
    expect(wall(local('2027-03-20T10:00'))).toBe('2027-03-20T10:00-04:00');
    expect(seven.sendAt).toEqual(seven.plannedAt);
    expect(seven.status).toBe('scheduled');
  });

  it('keeps the wall-clock time across the spring change of 2026-03-08', () => {
    const plan = planReminders({
      dueAt: local('2026-03-10T09:00'),
      offsetsDays: [30, 7, 1],
      quietHours: NONE,
      now: local('2026-01-01T00:00'),
    });
    expect(plan.map((r) => wall(r.plannedAt))).toEqual([
      '2026-02-08T09:00-05:00',
      '2026-03-03T09:00-05:00',
      '2026-03-09T09:00-04:00',
    ]);
  });

  it('keeps the wall-clock time across the autumn change of 2026-11-01', () => {
    const plan = planReminders({
      dueAt: local('2026-11-03T09:00'),
      offsetsDays: [7, 1],
      quietHours: NONE,
      now: local('2026-01-01T00:00'),
    });
    expect(plan.map((r) => wall(r.plannedAt))).toEqual(['2026-10-27T09:00-04:00', '2026-11-02T09:00-05:00']);
    // 24 h of wall time, 25 h of real time.
    expect(local('2026-11-01T09:00').getTime() - local('2026-10-31T09:00').getTime()).toBe(25 * 3600_000);
  });

  it('skips an offset already past, with the reason, and plans the others', () => {
    const now = local('2026-05-25T12:00');
    const plan = planReminders({
      dueAt: local('2026-06-01T12:00'),
      offsetsDays: [30, 7, 1],
      quietHours: NONE,
      now,
    });
    expect(plan.map((r) => [r.offsetDays, r.status, r.reason])).toEqual([
      [30, 'skipped', SKIPPED_PAST],
      [7, 'skipped', SKIPPED_PAST],
      [1, 'scheduled', undefined],
    ]);
  });

  it('skips a reminder whose time out of quiet hours is past, even if its planned time is not', () => {
    // Planned 22:00 (quiet), its end is after the due time, the minute before the window (20:59) is past.
    const [reminder] = planReminders({
      dueAt: local('2026-06-02T07:00'),
      offsetsDays: [0],
      quietHours: NIGHT,
      now: local('2026-06-01T21:30'),
    });
    expect(wall(reminder.sendAt)).toBe('2026-06-01T20:59-04:00');
    expect(reminder.status).toBe('skipped');
  });
});

describe(replanReminder.name, () => {
  // A 30-day reminder planned at 23:30, pushed to 08:00 by quiet hours 21:00–08:00.
  const plannedAt = local('2026-06-01T23:30');
  const dueAt = local('2026-07-01T23:30');

  it('sends now a reminder whose new time is already past, rather than losing it', () => {
    // At 07:30 the citizen changes to 22:00–07:00: 23:30 now ends at 07:00, which is past.
    const replanned = replanReminder({
      plannedAt,
      dueAt,
      quietHours: { start: '22:00', end: '07:00' },
      now: local('2026-06-02T07:30'),
    });
    expect(replanned).toEqual({ sendAt: local('2026-06-02T07:30'), status: 'scheduled' });
  });

  it('places it at the end of the new quiet hours when those are still to come', () => {
    const replanned = replanReminder({
      plannedAt,
      dueAt,
      quietHours: { start: '22:00', end: '09:00' },
      now: local('2026-06-02T07:30'),
    });
    expect(replanned).toEqual({ sendAt: local('2026-06-02T09:00'), status: 'scheduled' });
  });

  it('waits for the end of quiet hours in force now when its new time is past', () => {
    const replanned = replanReminder({
      plannedAt: local('2026-06-01T21:00'),
      dueAt,
      quietHours: { start: '22:00', end: '00:00' },
      now: local('2026-06-01T23:40'),
    });
    expect(replanned).toEqual({ sendAt: local('2026-06-02T00:00'), status: 'scheduled' });
  });

  it('skips only a reminder that could no longer leave before the due time', () => {
    const replan = (at: Date) => replanReminder({ plannedAt: at, dueAt, quietHours: NIGHT, now: dueAt });
    expect(replan(local('2026-06-30T23:30'))).toMatchObject({ status: 'skipped', reason: SKIPPED_TOO_LATE });
    // A reminder planned at the due time itself (offset 0) still goes.
    expect(replan(dueAt)).toEqual({ sendAt: dueAt, status: 'scheduled' });
  });
});

describe(placeOutOfQuietHours.name, () => {
  const farDue = local('2030-01-01T00:00');

  it('moves a time inside a wrapping window to its end, the next morning', () => {
    expect(wall(placeOutOfQuietHours(local('2026-06-01T22:15'), NIGHT, farDue))).toBe(
      '2026-06-02T08:00-04:00',
    );
    expect(wall(placeOutOfQuietHours(local('2026-06-02T03:00'), NIGHT, farDue))).toBe(
      '2026-06-02T08:00-04:00',
    );
  });

  it('leaves a time outside the window, and the window end itself, alone', () => {
    expect(wall(placeOutOfQuietHours(local('2026-06-01T20:59'), NIGHT, farDue))).toBe(
      '2026-06-01T20:59-04:00',
    );
    expect(wall(placeOutOfQuietHours(local('2026-06-02T08:00'), NIGHT, farDue))).toBe(
      '2026-06-02T08:00-04:00',
    );
  });

  it('the window start is quiet (the window is [start, end))', () => {
    expect(inQuietHours(local('2026-06-01T21:00'), NIGHT)).toBe(true);
    expect(inQuietHours(local('2026-06-01T08:00'), NIGHT)).toBe(false);
  });

  it('handles a window that does not wrap midnight', () => {
    const lunch = { start: '12:00', end: '13:30' };
    expect(wall(placeOutOfQuietHours(local('2026-06-01T12:45'), lunch, farDue))).toBe(
      '2026-06-01T13:30-04:00',
    );
    expect(wall(placeOutOfQuietHours(local('2026-06-01T11:59'), lunch, farDue))).toBe(
      '2026-06-01T11:59-04:00',
    );
    expect(wall(placeOutOfQuietHours(local('2026-06-01T13:30'), lunch, farDue))).toBe(
      '2026-06-01T13:30-04:00',
    );
  });

  it('start === end means no quiet hours', () => {
    for (const hhmm of ['00:00', '21:00']) {
      const at = local('2026-06-01T23:00');
      expect(placeOutOfQuietHours(at, { start: hhmm, end: hhmm }, farDue)).toEqual(at);
      expect(inQuietHours(at, { start: hhmm, end: hhmm })).toBe(false);
    }
  });

  it('goes back to the minute before the window when its end is at or after the due time', () => {
    const at = local('2026-06-01T23:00');
    expect(wall(placeOutOfQuietHours(at, NIGHT, local('2026-06-02T08:00')))).toBe('2026-06-01T20:59-04:00');
    expect(wall(placeOutOfQuietHours(at, NIGHT, local('2026-06-02T07:00')))).toBe('2026-06-01T20:59-04:00');
    // After midnight, the window began the evening before.
    expect(wall(placeOutOfQuietHours(local('2026-06-02T02:00'), NIGHT, local('2026-06-02T07:00')))).toBe(
      '2026-06-01T20:59-04:00',
    );
    expect(wall(placeOutOfQuietHours(at, NIGHT, local('2026-06-02T08:01')))).toBe('2026-06-02T08:00-04:00');
  });

  it('ends the window at the right instant on the spring-forward night (2026-03-08)', () => {
    // 21:00 EST to 08:00 EDT: ten hours of real time, not eleven.
    const end = placeOutOfQuietHours(local('2026-03-07T23:00'), NIGHT, farDue);
    expect(wall(end)).toBe('2026-03-08T08:00-04:00');
    expect(end.toISOString()).toBe('2026-03-08T12:00:00.000Z');
  });

  it('a window ending in the skipped hour ends at the jump (03:00 EDT)', () => {
    const end = placeOutOfQuietHours(local('2026-03-08T01:00'), { start: '23:00', end: '02:30' }, farDue);
    expect(end.toISOString()).toBe('2026-03-08T07:00:00.000Z');
    expect(wall(end)).toBe('2026-03-08T03:00-04:00');
  });

  it('ends the window at the right instant on the autumn night (2026-11-01)', () => {
    const end = placeOutOfQuietHours(local('2026-10-31T22:00'), NIGHT, farDue);
    expect(wall(end)).toBe('2026-11-01T08:00-05:00');
    expect(end.toISOString()).toBe('2026-11-01T13:00:00.000Z');
    // Both 01:30s of that night are quiet under a window ending at 02:00.
    const window = { start: '01:00', end: '02:00' };
    expect(inQuietHours(new Date('2026-11-01T05:30:00Z'), window)).toBe(true);
    expect(inQuietHours(new Date('2026-11-01T06:30:00Z'), window)).toBe(true);
    expect(placeOutOfQuietHours(new Date('2026-11-01T06:30:00Z'), window, farDue).toISOString()).toBe(
      '2026-11-01T07:00:00.000Z',
    );
  });

  it('goes back across the spring jump to the minute before the window', () => {
    const back = placeOutOfQuietHours(
      local('2026-03-08T05:00'),
      { start: '03:00', end: '09:00' },
      local('2026-03-08T08:00'),
    );
    expect(wall(back)).toBe('2026-03-08T01:59-05:00');
  });
});

describe('planning properties', () => {
  const hhmm = fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
  // Around both 2026 changes and ordinary days, to the minute.
  const instant = fc
    .integer({ min: Date.UTC(2026, 0, 1) / 60_000, max: Date.UTC(2027, 11, 31) / 60_000 })
    .map((minutes) => new Date(minutes * 60_000));
  const offsets = fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 4 });

  it('a scheduled sendAt is never inside quiet hours, never after dueAt, never at or before now', () => {
    fc.assert(
      fc.property(instant, instant, offsets, hhmm, hhmm, (dueAt, now, offsetsDays, start, end) => {
        const quietHours = { start, end };
        for (const reminder of planReminders({ dueAt, offsetsDays, quietHours, now })) {
          if (reminder.status !== 'scheduled') {
            expect(reminder.sendAt.getTime()).toBeLessThanOrEqual(now.getTime());
            continue;
          }
          expect(inQuietHours(reminder.sendAt, quietHours)).toBe(false);
          expect(reminder.sendAt.getTime()).toBeLessThanOrEqual(dueAt.getTime());
          expect(reminder.sendAt.getTime()).toBeGreaterThan(now.getTime());
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('plannedAt keeps the due wall-clock time and lies offsetDays calendar days before', () => {
    fc.assert(
      fc.property(instant, offsets, (dueAt, offsetsDays) => {
        const due = DateTime.fromJSDate(dueAt, { zone: PLANNING_ZONE });
        for (const r of planReminders({ dueAt, offsetsDays, quietHours: NONE, now: new Date(0) })) {
          const planned = DateTime.fromJSDate(r.plannedAt, { zone: PLANNING_ZONE });
          expect(planned.startOf('day').plus({ days: r.offsetDays }).toISODate()).toBe(due.toISODate());
          // Wall time kept, unless that day has no such time (the skipped hour of a spring night).
          const sameWallThatDay = planned.set({ hour: due.hour, minute: due.minute, second: due.second });
          if (sameWallThatDay.hour === due.hour && sameWallThatDay.minute === due.minute)
            expect(planned.toFormat('HH:mm:ss')).toBe(due.toFormat('HH:mm:ss'));
          else expect(planned.toFormat('yyyy-MM-dd')).toMatch(/-03-(0[89]|1[0-4])$/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a time outside quiet hours is never moved', () => {
    fc.assert(
      fc.property(instant, hhmm, hhmm, (at, start, end) => {
        fc.pre(!inQuietHours(at, { start, end }));
        expect(placeOutOfQuietHours(at, { start, end }, new Date(at.getTime() + 86_400_000))).toEqual(at);
      }),
    );
  });
});
