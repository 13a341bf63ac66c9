import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '#libs/config';

export type Period = 'day' | 'month' | 'year';
export const PERIODS: Period[] = ['day', 'month', 'year'];

export const TARGETS = { I2: 0.5, I3: 0.6 } as const;
export type IndicatorCode = keyof typeof TARGETS;

export interface IndicatorRow {
  indicator: IndicatorCode;
  /** Null for the whole administration. */
  organisation: string | null;
  /** Set when the rows are of one service (`?service=`). */
  service: string | null;
  period: Period;
  /** The period's first day in Montréal, `YYYY-MM-DD`. */
  start: string;
  numerator: number;
  denominator: number;
  /** numerator ÷ denominator; null when the denominator is 0. */
  value: number | null;
  target: number;
  /** I2 only: attribute values released to the services counted, and re-asked by them. */
  released?: number;
  reAsked?: number;
  /** I2 only: released ÷ (released + re-asked); null when both are 0. */
  reuseRate?: number | null;
}

export interface IndicatorQuery {
  period: Period;
  organisation?: string;
  service?: string;
}

interface ServicePeriod {
  organisation: string;
  service: string;
  start: string;
  re_asked: number;
  released: number;
}

interface DeadlineCounts {
  organisation: string;
  service: string | null;
  start: string;
  reminded: number;
  fallen: number;
}

/**
 * I2 and I3 as docs/indicators.md defines them, from the stored events only.
 * Days and periods are Montréal's. Each is computed per service (I2) or per
 * organisation and service (I3) in SQL, then summed here per organisation
 * and for the whole administration.
 */
@Injectable()
export class IndicatorsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  async compute(query: IndicatorQuery): Promise<IndicatorRow[]> {
    const [services, deadlines] = await Promise.all([
      this.servicePeriods(query.period),
      this.deadlineCounts(query.period, this.clock.now()),
    ]);
    const keep = (row: { organisation: string; service: string | null }) =>
      (!query.organisation || row.organisation === query.organisation) &&
      (!query.service || row.service === query.service);
    // Unfiltered: the whole administration and each organisation; filtered: the rows asked for.
    const scopes = (row: { organisation: string }) =>
      query.organisation || query.service ? [row.organisation] : [null, row.organisation];

    const i2 = new Map<string, IndicatorRow>();
    for (const row of services.filter(keep)) {
      for (const organisation of scopes(row)) {
        const key = `${organisation}|${row.start}`;
        const acc = i2.get(key) ?? {
          ...this.empty('I2', organisation, query, row.start),
          released: 0,
          reAsked: 0,
        };
        acc.denominator += 1;
        if (row.re_asked === 0) acc.numerator += 1;
        acc.released! += row.released;
        acc.reAsked! += row.re_asked;
        i2.set(key, acc);
      }
    }
    const i3 = new Map<string, IndicatorRow>();
    for (const row of deadlines.filter(keep)) {
      for (const organisation of scopes(row)) {
        const key = `${organisation}|${row.start}`;
        const acc = i3.get(key) ?? this.empty('I3', organisation, query, row.start);
        acc.numerator += row.reminded;
        acc.denominator += row.fallen;
        i3.set(key, acc);
      }
    }
    const rows = [...i2.values(), ...i3.values()].map((row) => ({
      ...row,
      value: row.denominator === 0 ? null : row.numerator / row.denominator,
      ...(row.indicator === 'I2' && {
        reuseRate: row.released! + row.reAsked! === 0 ? null : row.released! / (row.released! + row.reAsked!),
      }),
    }));
    return rows.sort(
      (a, b) =>
        a.indicator.localeCompare(b.indicator) ||
        (a.organisation ?? '').localeCompare(b.organisation ?? '') ||
        a.start.localeCompare(b.start),
    );
  }

  /** The organisations the events name, for the dashboard's choice. */
  async organisations(): Promise<string[]> {
    const rows: { organisation: string }[] = await this.dataSource.query(
      `SELECT DISTINCT data->>'organisation' AS organisation FROM barometer.event
       WHERE data ? 'organisation' ORDER BY 1`,
    );
    return rows.map((row) => row.organisation);
  }

  private empty(indicator: IndicatorCode, organisation: string | null, query: IndicatorQuery, start: string) {
    return {
      indicator,
      organisation,
      service: query.service ?? null,
      period: query.period,
      start,
      numerator: 0,
      denominator: 0,
      value: null,
      target: TARGETS[indicator],
    } as IndicatorRow;
  }

  /**
   * I2's base: each service active in each period — it had data released
   * (`service.active`, `service.releases`) or reported a collection — with
   * the values it re-asked and was released there.
   */
  private servicePeriods(period: Period): Promise<ServicePeriod[]> {
    return this.dataSource.query(
      `WITH activity AS (
         SELECT data->>'organisation' AS organisation, data->>'service' AS service, (data->>'day')::date AS day,
                CASE WHEN type = 'collection' THEN (data->>'reAsked')::int ELSE 0 END AS re_asked,
                CASE WHEN type = 'service.releases' THEN (data->>'released')::int ELSE 0 END AS released
         FROM barometer.event WHERE type IN ('service.active', 'service.releases', 'collection'))
       SELECT organisation, service, date_trunc($1, day)::date::text AS start,
              sum(re_asked)::int AS re_asked, sum(released)::int AS released
       FROM activity GROUP BY organisation, service, 3`,
      [period],
    );
  }

  /**
   * I3's base: each deadline as its latest event left it (a cancelled one
   * drops out), counted in the period its last due time falls in, once that
   * time has passed; reminded when a reminder of it was sent (or delivered)
   * before that due time.
   */
  private deadlineCounts(period: Period, now: Date): Promise<DeadlineCounts[]> {
    return this.dataSource.query(
      `WITH latest AS (
         SELECT DISTINCT ON (data->>'deadline')
                data->>'deadline' AS deadline, type, data->>'organisation' AS organisation,
                data->>'service' AS service, (data->>'dueAt')::timestamptz AS due_at
         FROM barometer.event WHERE type LIKE 'deadline.%'
         ORDER BY data->>'deadline', time DESC,
                  array_position(ARRAY['deadline.cancelled', 'deadline.completed', 'deadline.moved'], type) NULLS LAST),
       fallen AS (
         SELECT l.organisation, l.service,
                date_trunc($1, l.due_at AT TIME ZONE 'America/Montreal')::date::text AS start,
                EXISTS (SELECT 1 FROM barometer.event r
                        WHERE r.data->>'deadline' = l.deadline AND r.data ? 'deadline'
                          AND r.type IN ('reminder.sent', 'reminder.delivered')
                          AND (r.data->>'at')::timestamptz < l.due_at) AS reminded
         FROM latest l WHERE l.type <> 'deadline.cancelled' AND l.due_at <= $2)
       SELECT organisation, service, start, count(*) FILTER (WHERE reminded)::int AS reminded,
              count(*)::int AS fallen
       FROM fallen GROUP BY organisation, service, start`,
      [period, now],
    );
  }
}
