export {
  type DeliverMetricsJob,
  type DeliverWebhookJob,
  JOB_CATALOGUE,
  type JobCatalogue,
  type JobDefinition,
  type JobName,
  type JobPayloads,
  JOBS,
  MAX_METRIC_JOB_EVENTS,
  parseDeliverMetricsJob,
  parseDeliverWebhookJob,
  parseSendReminderJob,
  parseSweepRemindersJob,
  type QueueName,
  QUEUES,
  type SendReminderJob,
  type SweepRemindersJob,
} from './jobs.js';
export { JobWorkers } from './job-workers.js';
export { OnJob } from './on-job.decorator.js';
export { PeriodicTask } from './periodic-task.js';
export {
  JOB_CATALOGUE_TOKEN,
  type JobState,
  KEEP_FINISHED_JOBS,
  type NewJob,
  QUEUE_DEPTH_STATES,
  type QueueDepthState,
  QueueService,
} from './queue.service.js';
export { QueuesModule } from './queues.module.js';
