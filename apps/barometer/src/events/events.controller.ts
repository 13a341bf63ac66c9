import { Controller, Headers, HttpCode, Logger, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { DomainError, type ErrorCode } from '#libs/errors';
import type { RawBodyRequest } from '#libs/http';
import {
  METRIC_EVENTS_SIGNATURE_HEADER,
  MetricEventsRejected,
  type MetricEventsRejection,
  verifyMetricEvents,
} from '#libs/metrics';
import { BarometerMetrics } from '../barometer-metrics.js';
import { EventStore } from './event-store.js';
import { PlatformKeys } from './platform-keys.js';

const REJECTION_CODES: Record<MetricEventsRejection, ErrorCode> = {
  unsigned: 'metric_events_unsigned',
  signature: 'metric_events_bad_signature',
  malformed: 'malformed_json',
  too_many: 'metric_events_too_many',
  unknown_type: 'unknown_metric_event_type',
  schema: 'invalid_metric_event',
};

export interface EventsReceipt {
  /** Events in the batch. */
  received: number;
  /** Of them, those new to the barometer. */
  stored: number;
  /** Of them, those it already held (a batch sent again): ignored. */
  duplicates: number;
}

@ApiTags('events')
@Controller('v1/events')
export class EventsController {
  private readonly logger = new Logger(EventsController.name);

  constructor(
    private readonly keys: PlatformKeys,
    private readonly store: EventStore,
    private readonly metrics: BarometerMetrics,
  ) {}

  /**
   * A batch of the platform's metric events, or one structured event: taken
   * whole when the platform's signature over its exact bytes verifies and
   * every event follows its type's schema, refused whole otherwise.
   */
  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Accept signed metric events (CloudEvents 1.0, structured or batch)' })
  async receive(
    @Req() request: RawBodyRequest,
    @Headers(METRIC_EVENTS_SIGNATURE_HEADER) signature: string | undefined,
  ): Promise<EventsReceipt> {
    if (!request.rawBody)
      throw new DomainError(
        'malformed_json',
        'Send the events as JSON (application/cloudevents-batch+json or application/cloudevents+json).',
      );
    let events;
    try {
      events = await verifyMetricEvents(request.rawBody, signature, this.keys.keys);
    } catch (error) {
      if (error instanceof MetricEventsRejected) {
        this.metrics.received.inc({ result: 'refused' });
        throw new DomainError(REJECTION_CODES[error.reason], error.message);
      }
      this.logger.warn({ error: (error as Error).message }, 'the platform’s keys could not be fetched');
      throw new DomainError('service_unavailable', 'The platform’s keys cannot be fetched at the moment.');
    }
    const stored = await this.store.store(events);
    this.metrics.received.inc({ result: 'stored' }, stored);
    this.metrics.received.inc({ result: 'duplicate' }, events.length - stored);
    return { received: events.length, stored, duplicates: events.length - stored };
  }
}
