import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock, montrealDay } from '#libs/config';
import { onceEventId } from '#libs/outbox';

/**
 * A release commits within seconds of its time (the statement timeout): a
 * day's count waits this long past its midnight, so that none is left out.
 */
const DAY_CLOSE_GRACE_MS = 5 * 60_000;

/** Days counted in one transaction at most; a backlog is caught up over several runs. */
const DAYS_PER_RUN = 31;

/**
 * The reuse rate's numerator (values released to services) without a row
 * per release on the broker's hot path: once a Montréal day is over, one
 * `service.releases` event per service counts the attribute values released
 * to it that day, read from the access log (whose entries are written in
 * the releases' own transactions, rule 7). Each event's id is derived from
 * the service and the day (onceEventId), and `release_summary` records the
 * last day counted in the same transaction, so a day is counted once however
 * many schedulers run, and a scheduler stopped for a while catches up.
 */
@Injectable()
export class ReleaseSummaries {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /** Counts the closed days not yet counted (up to DAYS_PER_RUN); the days it counted. */
  async summariseClosedDays(): Promise<string[]> {
    const today = montrealDay(new Date(this.clock.now().getTime() - DAY_CLOSE_GRACE_MS));
    return this.dataSource.transaction(async (em) => {
      const [{ from }]: { from: string | null }[] = await em.query(
        `SELECT coalesce((through + 1)::text,
                         (SELECT (min(at) AT TIME ZONE 'America/Montreal')::date::text FROM access_log_entry)) AS from
         FROM release_summary FOR UPDATE`,
      );
      if (from === null || from >= today) return [];
      const [{ to }]: { to: string }[] = await em.query(
        `SELECT least($1::date + $3::int, $2::date)::text AS to`,
        [from, today, DAYS_PER_RUN],
      );
      const counts: { service: string; organisation: string; day: string; released: number }[] =
        await em.query(
          `SELECT service_id AS service, organisation_id AS organisation,
                  (at AT TIME ZONE 'America/Montreal')::date::text AS day,
                  sum(cardinality(released))::int AS released
           FROM access_log_entry
           WHERE at >= ($1::date::timestamp AT TIME ZONE 'America/Montreal')
             AND at < ($2::date::timestamp AT TIME ZONE 'America/Montreal')
           GROUP BY 1, 2, 3 HAVING sum(cardinality(released)) > 0`,
          [from, to],
        );
      if (counts.length > 0) {
        await em.query(
          `INSERT INTO outbox_event (id, topic, type, data)
           SELECT id, 'metric', 'service.releases', data FROM unnest($1::uuid[], $2::jsonb[]) AS t (id, data)
           ON CONFLICT (id) DO NOTHING`,
          [
            counts.map((count) => onceEventId('service.releases', count.service, count.day)),
            counts.map((count) => JSON.stringify(count)),
          ],
        );
      }
      const days: { day: string }[] = await em.query(
        `SELECT d::date::text AS day FROM generate_series($1::date, $2::date - 1, '1 day') AS d`,
        [from, to],
      );
      await em.query(`UPDATE release_summary SET through = $1::date - 1`, [to]);
      return days.map((row) => row.day);
    });
  }
}
