import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { MetricCloudEvent } from '#libs/metrics';

/** The events the barometer accepted, each once by id. */
@Injectable()
export class EventStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Stores the events in one statement; an id already held is ignored. How many were new. */
  async store(events: MetricCloudEvent[]): Promise<number> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH stored AS (
         INSERT INTO barometer.event (id, type, time, data)
         SELECT e.id, e.type, e.time, e.data
         FROM jsonb_to_recordset($1::jsonb) AS e (id uuid, type text, time timestamptz, data jsonb)
         ON CONFLICT (id) DO NOTHING
         RETURNING id)
       SELECT id FROM stored`,
      [JSON.stringify(events)],
    );
    return rows.length;
  }
}
