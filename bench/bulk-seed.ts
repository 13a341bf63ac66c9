/**
 * Bulk seeding for the benchmarks: N citizens in a migrated database (registry applied) by
 * PostgreSQL `COPY … FROM STDIN`, with the rows the real services write — AttributesService.write
 * (citizen_key, attribute_value, attribute_history), ConsentsService.grantIn (consent, pairwise_id,
 * the consent.granted outbox event) — and a year of the broker's access-log entries per citizen,
 * hash-chained by the access log's own chainEntry. Keys, ciphertexts, pairwise ids, hashes and the
 * release decision come from the libs; only the SQL differs: one COPY per table, streamed with
 * backpressure, rows made a slice of citizens at a time and never kept.
 *
 * Making rows costs more CPU than PostgreSQL spends loading them (the chain's canonical JSON and
 * hash alone are ~25 µs an entry), so from the build they are made by worker threads, each owning
 * every `workers`-th slice of citizens (their consent ids and chain heads stay with it), while
 * this thread writes their output to the COPY streams in order. The tables are loaded with their
 * indexes, but without their foreign key to citizen, added back and checked over every row at the
 * end: one join instead of a lookup per row, which cost PostgreSQL more than the rest of the load.
 *
 * Run alone (from the build) it measures itself on a database of its own:
 *   node dist/bench/bulk-seed.js   — SEED_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/unefois_bulk_seed,
 *   dropped and recreated), SEED_CITIZENS (20000), SEED_ENTRIES (10 a citizen), SEED_HELD (`all` 12 values, as the
 *   benchmarks seed, or `consented`: the 3 of the consent), SEED_WORKERS (default as bulkSeed's), SEED_VERIFY=1 to
 *   open a sample's values through the vault's services and run audit:verify after.
 */
import 'reflect-metadata';
import { execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { finished } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import {
  type AccessBasis,
  type AccessOutcome,
  chainEntry,
  chainEntryValues,
  type WithheldReason,
} from '#libs/access-log';
import { checkAttributeValue, type JsonValue, RegistryService } from '#libs/catalogue';
import { AppConfig, montrealDay } from '#libs/config';
import { checkTerms } from '#libs/consent';
import { MasterKeyring } from '#libs/crypto';
import { PairwiseIds } from '#libs/identity';
import { onceEventId, outboxRowValues } from '#libs/outbox';
import { decide } from '#libs/release';
import { AttributesService, encryptAttribute, type SourceKind, type Writer } from '#libs/vault';
import { domainContext } from '../apps/cli/src/domain-context.js';
import { log, machineCpuMs, procfs, recreateDatabase, SECRETS } from './support.js';

/** A valid value of each of the catalogue's 12 attributes (config/catalogue.yaml); fictitious. */
export const DEMO_VALUES: Record<string, unknown> = {
  'identity.given_name': 'Léa',
  'identity.family_name': 'Tremblay',
  'identity.birthdate': '1980-06-24',
  'contact.email': 'citoyen@exemple.ca',
  'contact.phone': '+15145550142',
  'address.residential': {
    line1: '1000 rue Sherbrooke Ouest',
    city: 'Montréal',
    province: 'QC',
    postalCode: 'H3A 3G4',
  },
  'civil.marital_status': 'married',
  'health.insurance_number': 'TREL80562412',
  'health.card_expiry': '2030-01-31',
  'licence.driver_number': 'T6123-240680-04',
  'licence.driver_expiry': '2030-06-24',
  'banking.direct_deposit': '815-30001-1234567',
};

/** Who bench/broker.bench.ts's seed() writes every value as. */
export const BENCH_WRITER: Writer = {
  kind: 'organisation',
  organisationId: 'SAAQ',
  serviceId: 'saaq-adresse',
};

export interface BulkSeedOptions {
  databaseUrl: string;
  /** The environment the apps run with (MASTER_KEYS, PAIRWISE_SECRET, …): bench/support.ts SECRETS, or a test's testEnv. */
  env: Record<string, string | undefined>;
  citizens: number;
  /** Catalogue codes every citizen holds a value of (from `values`, checked and normalised by the catalogue). */
  attributes: string[];
  /** The value of each attribute; DEMO_VALUES by default. */
  values?: Record<string, unknown>;
  /** Who wrote the values (provenance): BENCH_WRITER by default, as broker.bench.ts's seed(). */
  writer?: Writer | ((attribute: string) => Writer);
  /** One ongoing consent each, as ConsentsService.grantIn records it; organisationId, if given, must be the service's. */
  consent: { service: string; organisationId?: string; purpose: string; attributes: string[] };
  /**
   * Access-log entries per citizen: the consent's service asking for the consent's attributes, logged
   * as the broker logs the release, chained from genesis, spread evenly over the past year.
   */
  logEntriesPerCitizen: number;
  /** citizen.issuer: 'bench' by default; the vault finds a citizen by its token's issuer (CITIZEN_ISSUER) and subject. */
  issuer?: string;
  /** citizen.subject is `${subjectPrefix}${i}` for the i-th id returned: 'citizen-' by default. */
  subjectPrefix?: string;
  /**
   * The outbox events the real services write with these rows (default true): grantIn's
   * consent.granted metric event (and webhook, for a service with a webhook URL), pending as
   * grantIn leaves them, and the broker's service.active metric event of each day with an entry.
   */
  outboxEvents?: boolean;
  /**
   * Worker threads making the rows: by default one a core (at most 4) when running from the build,
   * none (this thread) from TypeScript sources (Jest), where a worker could not load this module.
   */
  workers?: number;
  /** `now` of the run: entries end a minute before it. */
  now?: Date;
  /** When citizens, keys, values, consents and pairwise ids were written: a day before the first entry, or `now` with no entries. */
  createdAt?: Date;
  onProgress?: (line: string) => void;
}

export interface BulkSeedResult {
  /** In the order of their subjects (`${subjectPrefix}${i}`), ascending (that is the order they were loaded in). */
  citizenIds: string[];
  /** The consent organisation's pairwise id of each citizen, in the same order. */
  ppids: string[];
  /** Rows written per table. */
  rows: Record<string, number>;
  /** Seconds per phase: citizens, data (keys, values, consents…), log, finish (last events, foreign keys back, ANALYZE). */
  seconds: Record<string, number>;
  /**
   * CPU seconds per phase: this process (its workers included) and, on Linux, the whole machine
   * (PostgreSQL's share is the difference, on an otherwise idle machine).
   */
  cpu: Record<string, { seeder: number; machine: number }>;
}

const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;
const HOUR_MS = 3_600_000;
/** Citizens a task makes rows for (a data task: all their tables; a log task: one entry each). */
const SLICE = 1_000;
/** Tasks handed out ahead of the one being written, per producer. */
const AHEAD = 4;
/** How much a stream may hold ahead of PostgreSQL before the writer waits. */
const STREAM_BUFFER_BYTES = 4 << 20;
const PROGRESS_EVERY = 100_000;
const CONSENT_PLACEHOLDER = '<consent>';

/** The column lists of each COPY, in the order its rows give the values. */
const COLUMNS = {
  citizen: 'id, issuer, subject, created_at',
  citizen_key: 'citizen_id, master_key_id, master_key_version, wrapped_key, created_at',
  attribute_value:
    'citizen_id, attribute, ciphertext, source_kind, source_organisation_id, written_by, revision, updated_at',
  attribute_history:
    'citizen_id, attribute, revision, ciphertext, source_kind, source_organisation_id, written_by, written_at',
  consent: `citizen_id, id, service_id, organisation_id, purpose, attributes, mode, status, granted_at,
            expires_at, revoked_at, used_at, consent_request_id, registry_version`,
  pairwise_id: 'citizen_id, organisation_id, ppid, created_at',
  // outboxRowValues's six, then the times the row's defaults would have given it.
  outbox_event: 'id, topic, type, service_id, url, data, occurred_at, next_attempt_at',
  // chainEntryValues's order (libs/access-log/src/chain-sql.ts, LINK_COLUMNS).
  access_log_entry: `citizen_id, seq, at, service_id, organisation_id, purpose, request_id,
                     attributes, outcome, released, withheld, basis, prev_hash, hash`,
} as const;
type Table = keyof typeof COLUMNS;
const DATA_TABLES = [
  'citizen_key',
  'attribute_value',
  'attribute_history',
  'consent',
  'pairwise_id',
  'outbox_event',
] as const;
type DataTable = (typeof DATA_TABLES)[number];

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A value in COPY's text format (backslash, newline, carriage return and tab escaped). */
function escapeText(text: string): string {
  return /[\\\n\r\t]/.test(text) ? text.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]) : text;
}

/** One column of a COPY text row: NULL, a bytea in hex, a timestamp, a text[] literal, jsonb or text. */
function copyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string') return escapeText(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `\\\\x${value.toString('hex')}`;
  if (Array.isArray(value))
    return escapeText(`{${value.map((item) => `"${String(item).replace(/["\\]/g, '\\$&')}"`).join(',')}}`);
  return escapeText(JSON.stringify(value));
}

/** One row of a COPY in text format. */
function copyRow(values: unknown[]): string {
  let line = copyValue(values[0]);
  for (let i = 1; i < values.length; i++) line += `\t${copyValue(values[i])}`;
  return `${line}\n`;
}

/** The 8-4-4-4-12 form of the 16 bytes at `offset`. */
function uuidAt(buffer: Buffer, offset: number): string {
  const hex = buffer.toString('hex', offset, offset + 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Everything a producer needs, as plain data (it crosses to the worker threads). */
interface Plan {
  /** The environment domainContext was given: a worker builds the same AppConfig from it. */
  env: Record<string, string | undefined>;
  citizens: number;
  perCitizen: number;
  createdAt: number;
  firstAt: number;
  /** Milliseconds between two consecutive entries of the log (all citizens in time order). */
  step: number;
  held: {
    code: string;
    value: JsonValue;
    kind: SourceKind;
    organisation: string | null;
    writtenBy: string;
  }[];
  service: { id: string; organisation: string; webhookUrl: string | null };
  purpose: string;
  consentAttributes: string[];
  registryVersion: number;
  /** The logged release: what the service asks for and the broker's decision, the consent's id left to fill in. */
  requested: string[];
  outcome: AccessOutcome;
  released: string[];
  withheld: { attribute: string; reason: WithheldReason }[];
  basis: AccessBasis[];
  withEvents: boolean;
}

/** Citizens [start, end) of the sorted ids: their data rows, or round `k`'s entry of each. */
type Task =
  | { kind: 'data'; slice: number; start: number; ids: string[] }
  | { kind: 'log'; slice: number; start: number; k: number };
type Output =
  | {
      kind: 'data';
      chunks: Record<DataTable, string | Uint8Array>;
      rows: Record<DataTable, number>;
      ppids: string[];
    }
  | { kind: 'log'; chunk: string | Uint8Array; rows: number };

/**
 * Makes the rows of the slices given to it, in COPY text: the data rows (keys, values, history,
 * consent, pairwise id, events) as the services write them, then round after round of access-log
 * entries, chained from the heads it keeps for its own slices.
 */
class SliceProducer {
  private readonly slices = new Map<number, { ids: string[]; consentIds: Buffer; heads: Buffer }>();
  private readonly createdAt: Date;
  private readonly metric: Record<string, unknown>;

  constructor(
    private readonly plan: Plan,
    private readonly keyring: MasterKeyring,
    private readonly pairwise: PairwiseIds,
  ) {
    this.createdAt = new Date(plan.createdAt);
    this.metric = {
      organisation: plan.service.organisation,
      service: plan.service.id,
      purpose: plan.purpose,
      mode: 'ongoing',
    };
  }

  run(task: Task): Output {
    return task.kind === 'data' ? this.data(task) : this.log(task);
  }

  private data(task: Extract<Task, { kind: 'data' }>): Output {
    const { plan, createdAt } = this;
    const { service } = plan;
    const ids = task.ids;
    const state = { ids, consentIds: Buffer.alloc(16 * ids.length), heads: Buffer.alloc(32 * ids.length) };
    this.slices.set(task.slice, state);
    const lines = Object.fromEntries(DATA_TABLES.map((t) => [t, [] as string[]])) as Record<
      DataTable,
      string[]
    >;
    const ppids: string[] = [];
    for (let j = 0; j < ids.length; j++) {
      const citizenId = ids[j];
      // DataKeysService.findOrCreate: a new data key, wrapped under the current master key.
      const dataKey = this.keyring.newDataKey();
      const wrapped = this.keyring.wrap(dataKey, citizenId);
      lines.citizen_key.push(
        copyRow([citizenId, wrapped.masterKeyId, wrapped.masterKeyVersion, wrapped.wrapped, createdAt]),
      );
      // AttributesService.write: the value, and the same ciphertext as revision 1 of its history.
      for (const h of plan.held) {
        const ciphertext = encryptAttribute(dataKey, h.value, citizenId, h.code);
        lines.attribute_value.push(
          copyRow([citizenId, h.code, ciphertext, h.kind, h.organisation, h.writtenBy, 1, createdAt]),
        );
        lines.attribute_history.push(
          copyRow([citizenId, h.code, 1, ciphertext, h.kind, h.organisation, h.writtenBy, createdAt]),
        );
      }
      // ConsentsService.grantIn: the consent, the organisation's pairwise id, the events it writes.
      const consentId = randomUUID();
      state.consentIds.write(consentId.replaceAll('-', ''), 16 * j, 'hex');
      lines.consent.push(
        copyRow([
          citizenId,
          consentId,
          service.id,
          service.organisation,
          plan.purpose,
          plan.consentAttributes,
          'ongoing',
          'active',
          createdAt,
          null,
          null,
          null,
          null,
          plan.registryVersion,
        ]),
      );
      const ppid = this.pairwise.of(service.organisation, citizenId);
      ppids.push(ppid);
      lines.pairwise_id.push(copyRow([citizenId, service.organisation, ppid, createdAt]));
      if (!plan.withEvents) continue;
      lines.outbox_event.push(
        copyRow([
          ...outboxRowValues({
            id: randomUUID(),
            topic: 'metric',
            type: 'consent.granted',
            serviceId: null,
            url: null,
            data: this.metric,
          }),
          createdAt,
          createdAt,
        ]),
      );
      if (service.webhookUrl) {
        lines.outbox_event.push(
          copyRow([
            ...outboxRowValues({
              id: randomUUID(),
              topic: 'webhook',
              type: 'consent.granted',
              serviceId: service.id,
              url: service.webhookUrl,
              data: {
                consentId,
                citizen: { ppid },
                purpose: plan.purpose,
                attributes: plan.consentAttributes,
                mode: 'ongoing',
                expiresAt: null,
              },
            }),
            createdAt,
            createdAt,
          ]),
        );
      }
    }
    return {
      kind: 'data',
      chunks: Object.fromEntries(DATA_TABLES.map((t) => [t, lines[t].join('')])) as Record<DataTable, string>,
      rows: Object.fromEntries(DATA_TABLES.map((t) => [t, lines[t].length])) as Record<DataTable, number>,
      ppids,
    };
  }

  /** Round k's entry of each citizen of the slice, at its place in the log's time order. */
  private log(task: Extract<Task, { kind: 'log' }>): Output {
    const { plan } = this;
    const state = this.slices.get(task.slice);
    if (!state) throw new Error(`slice ${task.slice}: its log before its data`);
    const lines: string[] = [];
    for (let j = 0; j < state.ids.length; j++) {
      const consentId = uuidAt(state.consentIds, 16 * j);
      const entry = chainEntry(
        task.k === 0 ? null : { seq: task.k, hash: state.heads.toString('hex', 32 * j, 32 * j + 32) },
        {
          citizenId: state.ids[j],
          serviceId: plan.service.id,
          organisationId: plan.service.organisation,
          purpose: plan.purpose,
          requestId: randomUUID(),
          attributes: plan.requested,
          outcome: plan.outcome,
          released: plan.released,
          withheld: plan.withheld,
          basis: plan.basis.map((b) =>
            b.kind === 'consent' && b.consentId === CONSENT_PLACEHOLDER ? { ...b, consentId } : b,
          ),
        },
        new Date(entryTime(plan, task.k, task.start + j)),
      );
      state.heads.write(entry.hash, 32 * j, 'hex');
      lines.push(copyRow(chainEntryValues(entry)));
    }
    return { kind: 'log', chunk: lines.join(''), rows: lines.length };
  }
}

/** When citizen i's entry of round k was logged: the log's entries evenly spaced, round after round. */
function entryTime(plan: Plan, k: number, i: number): number {
  return plan.firstAt + Math.floor((k * plan.citizens + i) * plan.step);
}

/** A worker thread's side: builds the keyring and pairwise ids as CryptoModule and IdentityModule do, then makes rows. */
function serveAsWorker(plan: Plan): void {
  const config = AppConfig.fromEnvironment(plan.env);
  const producer = new SliceProducer(plan, new MasterKeyring(config.masterKeys), new PairwiseIds(config));
  const encode = (text: string | Uint8Array) =>
    typeof text === 'string' ? new TextEncoder().encode(text) : text;
  parentPort!.on('message', (task: Task) => {
    const output = producer.run(task);
    if (output.kind === 'log') {
      const chunk = encode(output.chunk);
      parentPort!.postMessage({ ...output, chunk }, [chunk.buffer as ArrayBuffer]);
    } else {
      const chunks = Object.fromEntries(DATA_TABLES.map((t) => [t, encode(output.chunks[t])]));
      parentPort!.postMessage(
        { ...output, chunks },
        Object.values(chunks).map((c) => c.buffer as ArrayBuffer),
      );
    }
  });
}

/** Runs tasks on worker threads, each task on the worker that owns its slice; answers come in order per worker. */
class WorkerPool {
  private readonly workers: Worker[];
  private readonly waiting: { resolve: (o: Output) => void; reject: (e: Error) => void }[][];
  private failure: Error | null = null;

  constructor(count: number, plan: Plan) {
    this.workers = Array.from(
      { length: count },
      () => new Worker(new URL(import.meta.url), { workerData: { bulkSeedPlan: plan } }),
    );
    this.waiting = this.workers.map(() => []);
    this.workers.forEach((worker, w) => {
      worker.on('message', (output: Output) => this.waiting[w].shift()!.resolve(output));
      const fail = (error: Error) => {
        this.failure ??= error;
        for (const pending of this.waiting[w].splice(0)) pending.reject(error);
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`a seeding worker stopped (exit code ${code})`)));
    });
  }

  get size(): number {
    return this.workers.length;
  }

  run(task: Task): Promise<Output> {
    if (this.failure) return Promise.reject(this.failure);
    const w = task.slice % this.workers.length;
    return new Promise((resolve, reject) => {
      this.waiting[w].push({ resolve, reject });
      this.workers[w].postMessage(task);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('closed');
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

/** One table's COPY on a connection of its own, waiting while PostgreSQL is behind. */
class CopyWriter {
  rows = 0;
  private failure: Error | null = null;

  private constructor(
    readonly table: Table,
    private readonly client: pg.Client,
    private readonly stream: copyStreams.CopyStreamQuery,
  ) {
    stream.on('error', (error: Error) => (this.failure ??= error));
    // A connection lost mid-COPY fails the stream too; this only keeps the event from going unheard.
    client.on('error', (error: Error) => (this.failure ??= error));
  }

  static async open(databaseUrl: string, table: Table): Promise<CopyWriter> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const stream = client.query(
      copyStreams.from(`COPY ${table} (${COLUMNS[table]}) FROM STDIN`, {
        highWaterMark: STREAM_BUFFER_BYTES,
      }),
    );
    return new CopyWriter(table, client, stream);
  }

  /** Hands rows in COPY text to the stream; waits while it holds more than STREAM_BUFFER_BYTES. */
  async write(chunk: string | Uint8Array, rows: number): Promise<void> {
    if (this.failure) throw this.failed();
    this.rows += rows;
    if (chunk.length === 0) return;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  /** Ends the COPY and waits until PostgreSQL has committed it. */
  async close(): Promise<void> {
    this.stream.end();
    try {
      await finished(this.stream);
    } catch (error) {
      throw this.failed(error as Error);
    }
    await this.client.end();
  }

  /** After a failure elsewhere: the COPY is cancelled (rolled back) and the connection closed. */
  abort(): void {
    this.stream.destroy();
    this.client.end().catch(() => undefined);
  }

  private failed(error = this.failure!): Error {
    return new Error(`COPY ${this.table}: ${error.message}`, { cause: error });
  }
}

/**
 * Runs `count` tasks: keeps up to `ahead` of them in the producers' hands and consumes their
 * outputs strictly in task order (the order the rows reach the COPY streams).
 */
async function inOrder(
  count: number,
  task: (t: number) => Task,
  produce: (task: Task) => Promise<Output>,
  consume: (task: Task, output: Output) => Promise<void>,
  ahead: number,
): Promise<void> {
  const pending = new Map<number, [Task, Promise<Output>]>();
  let next = 0;
  try {
    for (let t = 0; t < count; t++) {
      for (; next < count && next <= t + ahead; next++) {
        const item = task(next);
        const output = produce(item);
        output.catch(() => undefined); // awaited below, in its turn
        pending.set(next, [item, output]);
      }
      const [item, output] = pending.get(t)!;
      pending.delete(t);
      await consume(item, await output);
    }
  } finally {
    pending.clear();
  }
}

/** A foreign key as the migrations made it: its table, quoted name and definition. */
interface ForeignKey {
  table: string;
  name: string;
  definition: string;
}

/**
 * The loaded tables' foreign keys to citizen, dropped for the load: checked row by row, they cost
 * PostgreSQL more than the rest of the load of those tables (measured: 40 → 16 CPU-s for 100,000
 * citizens holding 12 values). restoreForeignKeys adds them back as they were, checking every row.
 */
async function dropCitizenForeignKeys(admin: pg.Client): Promise<ForeignKey[]> {
  const { rows } = await admin.query<ForeignKey>(
    `SELECT conrelid::regclass::text AS table, format('%I', conname) AS name, pg_get_constraintdef(oid) AS definition
       FROM pg_constraint
      WHERE contype = 'f' AND confrelid = 'citizen'::regclass AND conrelid::regclass::text = ANY ($1)
      ORDER BY 1, 2`,
    [Object.keys(COLUMNS)],
  );
  for (const key of rows) await admin.query(`ALTER TABLE ${key.table} DROP CONSTRAINT ${key.name}`);
  return rows;
}

/** Adds the foreign keys back, each validated over every row of its table (one join, not a lookup a row). */
async function restoreForeignKeys(admin: pg.Client, keys: ForeignKey[]): Promise<void> {
  for (const key of keys)
    await admin.query(`ALTER TABLE ${key.table} ADD CONSTRAINT ${key.name} ${key.definition}`);
}

/**
 * Seeds `citizens` citizens into a migrated database whose registry is applied, with the rows the
 * real services would write for them; returns their ids and the consent organisation's pairwise ids.
 * Each table is one COPY (its own transaction), loaded without its foreign key to citizen, which
 * is added back (and checked over every row) at the end, or when the load fails: a run that fails
 * part-way leaves what it had committed, so seed a fresh database (bench/support.ts
 * recreateDatabase) and start again.
 */
export async function bulkSeed(o: BulkSeedOptions): Promise<BulkSeedResult> {
  const n = o.citizens;
  const perCitizen = o.logEntriesPerCitizen;
  if (!Number.isInteger(n) || n < 0) throw new Error(`citizens: a whole number (got ${n})`);
  if (!Number.isInteger(perCitizen) || perCitizen < 0)
    throw new Error(`logEntriesPerCitizen: a whole number (got ${perCitizen})`);
  const progress = o.onProgress ?? (() => undefined);
  const fromBuild = import.meta.url.endsWith('.js');
  const workerCount = o.workers ?? (fromBuild ? Math.min(availableParallelism(), 4) : 0);
  if (workerCount > 0 && !fromBuild) throw new Error('workers: only from the build (node dist/…)');
  const now = o.now ?? new Date();
  const firstAt = now.getTime() - YEAR_MS;
  const seconds: Record<string, number> = {};
  const cpu: BulkSeedResult['cpu'] = {};
  let phaseStart = Date.now();
  let cpuStart = { seeder: seederCpuMs(), machine: procfs ? machineCpuMs() : NaN };
  const phase = (name: string) => {
    const cpuNow = { seeder: seederCpuMs(), machine: procfs ? machineCpuMs() : NaN };
    seconds[name] = (Date.now() - phaseStart) / 1000;
    cpu[name] = {
      seeder: (cpuNow.seeder - cpuStart.seeder) / 1000,
      machine: (cpuNow.machine - cpuStart.machine) / 1000,
    };
    phaseStart = Date.now();
    cpuStart = cpuNow;
  };

  const env = { ...o.env, DATABASE_URL: o.databaseUrl };
  const app = await domainContext(env);
  const admin = new pg.Client({ connectionString: o.databaseUrl });
  admin.on('error', () => undefined); // its queries fail on their own
  const writers: CopyWriter[] = [];
  let pool: WorkerPool | null = null;
  let foreignKeys: ForeignKey[] = [];
  try {
    await admin.connect();
    const registry = app.get(RegistryService).current();

    // The values, checked and normalised by the catalogue as a service's write is.
    const held = registry.knownAttributes(o.attributes).map((code) => {
      const checked = checkAttributeValue(registry.attribute(code)!, (o.values ?? DEMO_VALUES)[code]);
      if (!checked.ok) throw new Error(`${code}: ${JSON.stringify(checked.errors)}`);
      const writer = typeof o.writer === 'function' ? o.writer(code) : (o.writer ?? BENCH_WRITER);
      return {
        code,
        value: checked.value,
        kind: writer.kind,
        organisation: writer.kind === 'organisation' ? writer.organisationId : null,
        writtenBy: writer.kind === 'organisation' ? writer.serviceId : 'citizen',
      };
    });

    // The consent as grantIn checks and records it.
    const terms = { ...o.consent, mode: 'ongoing' as const };
    const { service, attributes: consentAttributes } = checkTerms(registry, terms);
    if (o.consent.organisationId && o.consent.organisationId !== service.organisation)
      throw new Error(`${service.id} belongs to ${service.organisation}, not ${o.consent.organisationId}`);

    // Each logged release as the broker decides and logs it (ReleaseService.releaseFor), the service
    // asking for the consent's attributes; only the consent's id differs from one citizen to the next.
    const requested = registry.knownAttributes(o.consent.attributes);
    const heldCodes = new Set(held.map((h) => h.code));
    const released: string[] = [];
    const withheld: Plan['withheld'] = [];
    const basis: AccessBasis[] = [];
    const consents = [{ id: CONSENT_PLACEHOLDER, attributes: consentAttributes, mode: 'ongoing' as const }];
    for (const decision of decide(registry, service.id, terms.purpose, requested, consents)) {
      if (!decision.allowed) withheld.push({ attribute: decision.attribute, reason: decision.reason });
      else if (!heldCodes.has(decision.attribute))
        withheld.push({ attribute: decision.attribute, reason: 'not_held' });
      else {
        released.push(decision.attribute);
        basis.push(decision.basis);
      }
    }

    const total = n * perCitizen;
    const plan: Plan = {
      env,
      citizens: n,
      perCitizen,
      createdAt: (o.createdAt ?? (perCitizen > 0 ? new Date(firstAt - DAY_MS) : now)).getTime(),
      firstAt,
      step: total > 0 ? (now.getTime() - 60_000 - firstAt) / total : 0,
      held,
      service: {
        id: service.id,
        organisation: service.organisation,
        webhookUrl: service.webhook_url ?? null,
      },
      purpose: terms.purpose,
      consentAttributes,
      registryVersion: registry.version,
      requested,
      outcome: released.length === 0 ? 'withheld' : withheld.length === 0 ? 'released' : 'partial',
      released,
      withheld,
      basis,
      withEvents: o.outboxEvents ?? true,
    };

    // Ids in ascending order, so each citizen-keyed index grows at its end, as fast as it gets.
    const citizenIds = Array.from({ length: n }, () => randomUUID()).sort();
    const ppids = new Array<string>(n);
    const slices = Math.ceil(n / SLICE);
    pool = workerCount > 0 ? new WorkerPool(workerCount, plan) : null;
    const local = pool ? null : new SliceProducer(plan, app.get(MasterKeyring), app.get(PairwiseIds));
    const produce = (task: Task) => (pool ? pool.run(task) : Promise.resolve(local!.run(task)));
    const ahead = pool ? AHEAD * pool.size : 0;
    progress(
      `${n.toLocaleString('en')} citizens, ${total.toLocaleString('en')} entries, ${workerCount} worker(s)`,
    );

    foreignKeys = await dropCitizenForeignKeys(admin);

    // 1. Citizens, each with the id the rows of every other table point to.
    const citizens = await CopyWriter.open(o.databaseUrl, 'citizen');
    writers.push(citizens);
    const issuer = o.issuer ?? 'bench';
    const prefix = o.subjectPrefix ?? 'citizen-';
    const created = new Date(plan.createdAt);
    for (let s = 0; s < slices; s++) {
      let chunk = '';
      for (let i = s * SLICE; i < Math.min(n, (s + 1) * SLICE); i++)
        chunk += copyRow([citizenIds[i], issuer, `${prefix}${i}`, created]);
      await citizens.write(chunk, Math.min(n, (s + 1) * SLICE) - s * SLICE);
    }
    await citizens.close();
    phase('citizens');

    // 2. What their first writes and consents leave, one COPY per table side by side.
    const data = await Promise.all(DATA_TABLES.map((table) => CopyWriter.open(o.databaseUrl, table)));
    writers.push(...data);
    await inOrder(
      slices,
      (s) => ({
        kind: 'data',
        slice: s,
        start: s * SLICE,
        ids: citizenIds.slice(s * SLICE, (s + 1) * SLICE),
      }),
      produce,
      async (task, output) => {
        if (output.kind !== 'data') throw new Error('a data task answered with log rows');
        output.ppids.forEach((ppid, j) => (ppids[task.start + j] = ppid));
        await Promise.all(
          data.map((writer, t) => writer.write(output.chunks[DATA_TABLES[t]], output.rows[DATA_TABLES[t]])),
        );
        const done = Math.min(n, task.start + SLICE);
        if (done % PROGRESS_EVERY === 0)
          progress(`data: ${done.toLocaleString('en')} citizens, ${rate(done, phaseStart)}`);
      },
      ahead,
    );
    await Promise.all(data.map((writer) => writer.close()));
    phase('data');

    // 3. The access log in time order, as the broker writes it: round k gives every citizen their
    // k-th entry, so `at` grows with the table (its BRIN indexes stay useful) and each round walks
    // the primary key in order.
    const accessLog = await CopyWriter.open(o.databaseUrl, 'access_log_entry');
    writers.push(accessLog);
    await inOrder(
      slices * perCitizen,
      (t) => ({ kind: 'log', slice: t % slices, start: (t % slices) * SLICE, k: Math.floor(t / slices) }),
      produce,
      async (_task, output) => {
        if (output.kind !== 'log') throw new Error('a log task answered with data rows');
        await accessLog.write(output.chunk, output.rows);
        if (accessLog.rows % (10 * PROGRESS_EVERY) < output.rows)
          progress(
            `log: ${accessLog.rows.toLocaleString('en')} entries, ${rate(accessLog.rows, phaseStart)}`,
          );
      },
      ahead,
    );
    await accessLog.close();
    phase('log');

    // 4. The broker's service.active event of each Montréal day it logged a release (one per service and day).
    const rows: Record<string, number> = Object.fromEntries(writers.map((w) => [w.table, w.rows]));
    if (plan.withEvents && total > 0) {
      const days = new Map<string, Date>();
      let hour = -1;
      for (let t = 0; t < total; t++) {
        const at = entryTime(plan, 0, t);
        if (Math.floor(at / HOUR_MS) === hour) continue; // a Montréal day starts on a UTC hour
        hour = Math.floor(at / HOUR_MS);
        const day = montrealDay(new Date(at));
        if (!days.has(day)) days.set(day, new Date(at));
      }
      const activity = await CopyWriter.open(o.databaseUrl, 'outbox_event');
      writers.push(activity);
      let chunk = '';
      for (const [day, at] of days) {
        chunk += copyRow([
          ...outboxRowValues({
            id: onceEventId('service.active', service.id, day),
            topic: 'metric',
            type: 'service.active',
            serviceId: null,
            url: null,
            data: { service: service.id, organisation: service.organisation, day },
          }),
          at,
          at,
        ]);
      }
      await activity.write(chunk, days.size);
      await activity.close();
      rows.outbox_event += activity.rows;
    }
    const keys = foreignKeys;
    foreignKeys = [];
    await restoreForeignKeys(admin, keys);
    await admin.query(`ANALYZE ${Object.keys(COLUMNS).join(', ')}`);
    phase('finish');
    return { citizenIds, ppids, rows, seconds, cpu };
  } catch (error) {
    for (const writer of writers) writer.abort();
    throw error;
  } finally {
    try {
      await restoreForeignKeys(admin, foreignKeys);
    } finally {
      await admin.end().catch(() => undefined);
      await pool?.close();
      await app.close();
    }
  }
}

/** CPU time (ms) this process has used, all its threads. */
function seederCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function rate(count: number, since: number): string {
  return `${Math.round(count / ((Date.now() - since) / 1000)).toLocaleString('en')}/s`;
}

/** Seeds a database of its own and reports rates and memory (the measurement in the module's header). */
async function main(): Promise<void> {
  const env = process.env;
  const databaseUrl = env.SEED_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/unefois_bulk_seed';
  const citizens = Number(env.SEED_CITIZENS ?? 20_000);
  const entries = Number(env.SEED_ENTRIES ?? 10);
  const consented = ['address.residential', 'contact.email', 'identity.birthdate'];
  const attributes = env.SEED_HELD === 'consented' ? consented : Object.keys(DEMO_VALUES);
  log(`• a fresh database, then ${citizens} citizens × ${entries} entries, ${attributes.length} values each`);
  await recreateDatabase(databaseUrl);
  const started = Date.now();
  const result = await bulkSeed({
    databaseUrl,
    env: SECRETS,
    citizens,
    attributes,
    consent: {
      service: 'saaq-permis',
      organisationId: 'SAAQ',
      purpose: 'licence-renewal',
      attributes: consented,
    },
    logEntriesPerCitizen: entries,
    workers: env.SEED_WORKERS === undefined ? undefined : Number(env.SEED_WORKERS),
    onProgress: (line) => log(`  ${line}`),
  });
  const elapsed = (Date.now() - started) / 1000;
  log(`  rows: ${JSON.stringify(result.rows)}`);
  for (const [name, wall] of Object.entries(result.seconds)) {
    const { seeder, machine } = result.cpu[name];
    log(
      `  ${name.padEnd(8)} ${wall.toFixed(1).padStart(6)} s; CPU: seeder ${seeder.toFixed(1)} s, ` +
        `the rest of the machine (PostgreSQL) ${(machine - seeder).toFixed(1)} s`,
    );
  }
  log(
    `  ${elapsed.toFixed(1)} s: ${Math.round(citizens / elapsed)} citizens/s, ` +
      `${Math.round((citizens * entries) / elapsed)} entries/s; peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
  );
  if (env.SEED_VERIFY === '1') {
    // A sample opened and found the way the apps do it: data key, AAD, pairwise id.
    const app = await domainContext({ ...SECRETS, DATABASE_URL: databaseUrl });
    try {
      const pairwise = app.get(PairwiseIds);
      const dataSource = app.get(DataSource);
      for (let i = 0; i < citizens; i += Math.max(1, Math.floor(citizens / 50))) {
        const values = await app.get(AttributesService).values(result.citizenIds[i], attributes);
        const found = await pairwise.resolve(dataSource.manager, 'SAAQ', result.ppids[i]);
        if (
          found !== result.citizenIds[i] ||
          attributes.some((a) => JSON.stringify(values.get(a)) !== JSON.stringify(DEMO_VALUES[a]))
        )
          throw new Error(`citizen ${i} (${result.citizenIds[i]}) does not read back`);
      }
      log('  a sample of 50 citizens reads back (values opened, pairwise ids resolved)');
    } finally {
      await app.close();
    }
    const verifyStarted = Date.now();
    const audit = execSync('node dist/apps/cli/src/main.js audit:verify', {
      env: { ...env, ...SECRETS, DATABASE_URL: databaseUrl },
    });
    log(`  ${audit.toString().trim()} (${((Date.now() - verifyStarted) / 1000).toFixed(1)} s)`);
  }
}

const plan = (workerData as { bulkSeedPlan?: Plan } | null)?.bulkSeedPlan;
if (!isMainThread && plan) serveAsWorker(plan);
else if (isMainThread && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  await main();
