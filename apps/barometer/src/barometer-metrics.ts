import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { Clock, montrealDay } from '#libs/config';
import { MetricsRegistry } from '#libs/http';
import { IndicatorsService, TARGETS } from './indicators/indicators.service.js';

/** How long a scrape waits for the indicators: a database that does not answer leaves the gauge empty. */
const COLLECT_TIMEOUT_MS = 2_000;

/**
 * What the barometer's /metrics adds to the HTTP platform's: the events it
 * received by result, and each indicator of the current Montréal month
 * against its target, for the whole administration (no `organisation`
 * label) and each organisation.
 */
@Injectable()
export class BarometerMetrics {
  readonly received: Counter<'result'>;

  constructor(metrics: MetricsRegistry, indicators: IndicatorsService, clock: Clock) {
    this.received = new Counter({
      name: 'metric_events_received_total',
      help: 'Metric events received, by result (stored, duplicate: an id already held, refused: in a refused batch)',
      labelNames: ['result'] as const,
      registers: [metrics.registry],
    });
    new Gauge({
      name: 'indicator_value',
      help: 'Each indicator for the current month, per organisation (none: the whole administration)',
      labelNames: ['indicator', 'organisation'] as const,
      registers: [metrics.registry],
      async collect() {
        const month = `${montrealDay(clock.now()).slice(0, 7)}-01`;
        let timer: NodeJS.Timeout | undefined;
        const rows = await Promise.race([
          indicators.compute({ period: 'month' }),
          new Promise<null>((resolve) => (timer = setTimeout(resolve, COLLECT_TIMEOUT_MS, null))),
        ])
          .catch(() => null)
          .finally(() => clearTimeout(timer));
        this.reset();
        for (const row of rows ?? []) {
          if (row.start !== month || row.value === null) continue;
          this.set({ indicator: row.indicator, organisation: row.organisation ?? '' }, row.value);
        }
      },
    });
    const target = new Gauge({
      name: 'indicator_target',
      help: 'The government’s target for each indicator',
      labelNames: ['indicator'] as const,
      registers: [metrics.registry],
    });
    for (const [indicator, value] of Object.entries(TARGETS)) target.set({ indicator }, value);
  }
}
