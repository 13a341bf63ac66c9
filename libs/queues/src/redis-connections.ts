import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

const logger = new Logger('Redis');

/** Reconnect for ever, backing off from 1 s to 20 s, as BullMQ's production guide suggests. */
function retryStrategy(times: number): number {
  return Math.max(Math.min(Math.exp(times), 20_000), 1000);
}

/**
 * A producer's connection: commands fail at once while Redis is away
 * (`enableOfflineQueue: false`) instead of waiting in memory, so the caller —
 * a periodic relay whose rows stay in PostgreSQL — tries again on its next run.
 */
export function producerConnection(url: string): Redis {
  const connection = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy });
  connection.on('error', (error) => logger.warn(`producer connection: ${error.message}`));
  return connection;
}

/**
 * A worker's connection: its blocking commands wait through a Redis restart
 * (`maxRetriesPerRequest: null`, which BullMQ requires of workers) and it
 * reconnects by itself.
 */
export function workerConnection(url: string): Redis {
  const connection = new Redis(url, { maxRetriesPerRequest: null, retryStrategy });
  connection.on('error', (error) => logger.warn(`worker connection: ${error.message}`));
  return connection;
}
