export { OutboxEvent, type OutboxTopic } from './outbox-event.entity.js';
export {
  metricEventsSql,
  type NewOutboxRow,
  OUTBOX_ROWS_JSON_COLUMNS,
  outboxInsertFromSql,
  outboxInsertSql,
  outboxRowsJson,
  outboxRowValues,
} from './outbox-sql.js';
export { OutboxModule } from './outbox.module.js';
export {
  CLAIM_LEASE_SECONDS,
  type ClaimedEvent,
  failingServiceSlots,
  OutboxRelayService,
  webhookBacklogLimit,
} from './outbox-relay.service.js';
export { type NewMetricEvent, type NewWebhookEvent, onceEventId, OutboxService } from './outbox.service.js';
export {
  type DeliveryOutcome,
  retryDelayMs,
  WEBHOOK_JWS_TYPE,
  WebhookDeliveryService,
} from './webhook-delivery.service.js';
