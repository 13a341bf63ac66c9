/**
 * The floor bench:broker compares the broker with: the least this machine can
 * do for the same two round trips to PostgreSQL — node:http and pg, no
 * framework, one indexed read and one insert per request. `POST /tx` runs
 * them in a transaction (BEGIN, read, insert, COMMIT), `POST /one` as one
 * statement. `GET /me` is the floor of the vault's `GET /v1/me`: one indexed
 * read of a citizen's values (named by the `x-citizen-id` header), answered
 * as JSON, still sealed. Named statements and a pool of DATABASE_POOL_SIZE
 * connections, as the apps have.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_POOL_SIZE ?? 4),
});
pool.on('error', () => undefined);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const READ = `SELECT updated_at FROM attribute_value WHERE citizen_id = $1 AND attribute = 'contact.email'`;
const WRITE = `INSERT INTO bench_baseline_log (citizen_id) VALUES ($1)`;
const HELD = `SELECT attribute, ciphertext, source_kind, source_organisation_id, updated_at
                FROM attribute_value WHERE citizen_id = $1 ORDER BY attribute`;

async function transaction(citizenId: string): Promise<Date | null> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query({ name: 'floor-read', text: READ, values: [citizenId] });
    await client.query({ name: 'floor-write', text: WRITE, values: [citizenId] });
    await client.query('COMMIT');
    return rows[0]?.updated_at ?? null;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function oneStatement(citizenId: string): Promise<Date | null> {
  const { rows } = await pool.query({
    name: 'floor-one',
    text: `WITH written AS (${WRITE}) ${READ}`,
    values: [citizenId],
  });
  return rows[0]?.updated_at ?? null;
}

async function held(citizenId: string) {
  const { rows } = await pool.query({ name: 'floor-held', text: HELD, values: [citizenId] });
  return rows.map(
    (row: {
      attribute: string;
      ciphertext: Buffer;
      source_kind: string;
      source_organisation_id: string | null;
      updated_at: Date;
    }) => ({
      attribute: row.attribute,
      ciphertext: row.ciphertext.toString('base64'),
      source: row.source_organisation_id ?? row.source_kind,
      updatedAt: row.updated_at.toISOString(),
    }),
  );
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method === 'GET' && request.url === '/health') return answer(response, 200, { status: 'ok' });
  if (request.method === 'GET' && request.url === '/me') {
    const citizenId = request.headers['x-citizen-id'];
    if (typeof citizenId !== 'string' || !UUID.test(citizenId))
      return answer(response, 400, { error: 'citizen' });
    try {
      return answer(response, 200, { attributes: await held(citizenId) });
    } catch {
      return answer(response, 503, { error: 'database' });
    }
  }
  const run = request.url === '/tx' ? transaction : request.url === '/one' ? oneStatement : null;
  if (request.method !== 'POST' || !run) return answer(response, 404, { error: 'not found' });
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  let citizenId: unknown;
  try {
    citizenId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { citizenId?: unknown }).citizenId;
  } catch {
    return answer(response, 400, { error: 'malformed JSON' });
  }
  if (typeof citizenId !== 'string' || !UUID.test(citizenId))
    return answer(response, 400, { error: 'citizenId' });
  try {
    answer(response, 200, { citizenId, updatedAt: await run(citizenId) });
  } catch {
    answer(response, 503, { error: 'database' });
  }
}

const server = createServer((request, response) => void handle(request, response));
server.listen(Number(process.env.BROKER_PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
