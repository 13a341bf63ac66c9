import type { OutboxEvent } from './outbox-event.entity.js';

export type NewOutboxRow = Pick<OutboxEvent, 'id' | 'topic' | 'type' | 'serviceId' | 'url' | 'data'>;

/**
 * The INSERT of one outbox row given by value (metricEventsSql writes rows
 * computed in SQL), its 6 values as parameters `$first`… in
 * the order of outboxRowValues; with `when`, written only if that holds (a
 * guard in a larger statement). A second write of the same id is a no-op, so
 * an event that happens once per key (onceEventId) is written once.
 */
export function outboxInsertSql(first: number, when = 'true'): string {
  const p = (i: number, type: string) => `$${first + i}::${type}`;
  return `INSERT INTO outbox_event (id, topic, type, service_id, url, data)
          SELECT ${p(0, 'uuid')}, ${p(1, 'text')}, ${p(2, 'text')}, ${p(3, 'text')}, ${p(4, 'text')}, ${p(5, 'jsonb')}
          WHERE ${when}
          ON CONFLICT (id) DO NOTHING`;
}

export function outboxRowValues(row: NewOutboxRow): unknown[] {
  return [row.id, row.topic, row.type, row.serviceId, row.url, JSON.stringify(row.data)];
}

/**
 * The INSERT of outbox rows of the same statement: `source` (a WITH item)
 * has the columns id, topic, type, service_id, url and data, those of
 * outboxRowsJson; only its rows where `when` holds are written. As with
 * outboxInsertSql, a second write of an id is a no-op.
 */
export function outboxInsertFromSql(source: string, when = 'true'): string {
  return `INSERT INTO outbox_event (id, topic, type, service_id, url, data)
          SELECT id, topic, type, service_id, url, data FROM ${source} WHERE ${when}
          ON CONFLICT (id) DO NOTHING`;
}

/** Outbox rows as one JSON array, each with its place `n`, for a statement that reads them with jsonb_to_recordset. */
export function outboxRowsJson(rows: NewOutboxRow[]): string {
  return JSON.stringify(
    rows.map((row, n) => ({
      n,
      id: row.id,
      topic: row.topic,
      type: row.type,
      service_id: row.serviceId,
      url: row.url,
      data: row.data,
    })),
  );
}

/** The columns of outboxRowsJson's rows, for jsonb_to_recordset. */
export const OUTBOX_ROWS_JSON_COLUMNS =
  'n int, id uuid, topic text, type text, service_id text, url text, data jsonb';

/**
 * The INSERT of metric events computed in SQL, one per row of `source` (a
 * table or WITH item of the same statement): `type` and each field of `data`
 * are SQL expressions over it, written by the caller's code, never input.
 * For events of a statement that decides in the database which rows changed.
 */
export function metricEventsSql(type: string, source: string, data: Record<string, string>): string {
  const fields = Object.entries(data)
    .map(([key, value]) => `'${key}', ${value}`)
    .join(', ');
  return `INSERT INTO outbox_event (id, topic, type, data)
          SELECT gen_random_uuid(), 'metric', ${type}, jsonb_build_object(${fields}) FROM ${source}`;
}
