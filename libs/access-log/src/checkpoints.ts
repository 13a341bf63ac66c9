import { Injectable } from '@nestjs/common';
import { compactVerify, createLocalJWKSet, type JWK } from 'jose';
import { DataSource, type EntityManager } from 'typeorm';
import { PlatformSigner } from '#libs/crypto';
import { GENESIS_HASH } from './hash-chain.js';
import { auditPath, leafHash, merkleLevels, merkleRoot } from './merkle.js';

/**
 * Rule 4's signed head over all chains. A checkpoint is the RFC 6962 Merkle
 * root over the heads of the chains that grew since the previous checkpoint
 * (one leaf per chain: SHA-256(0x00 ‖ the head entry's hash), ordered by
 * citizen), linked to the previous root and signed by the platform. Once a
 * chain's head is in a signed checkpoint, rewriting that chain — even with
 * every later hash recomputed — no longer matches what was published.
 */

export const CHECKPOINT_TYPE = 'access-log-checkpoint+json';
export const CHECKPOINT_METHOD =
  'RFC 6962 Merkle tree (SHA-256); leaf = SHA-256(0x00 ‖ head entry hash as bytes); audit path per RFC 9162 2.1.3';

/**
 * Entries carry the time the app stamped them, before they commit; a
 * checkpoint looks for chains that grew this long before the previous one.
 * An entry stamped earlier than that (an app clock an hour off) is reported
 * by `auditCheckpoints` and covered by `publish({ full: true })`.
 */
export const LOOKBACK_MS = 60 * 60_000;
/** A checkpoint holds at most this many chains; more make consecutive checkpoints. It bounds a proof's work. */
export const MAX_LEAVES = 65_536;
/** Advisory-lock key: one publisher at a time, whatever the number of schedulers. */
const PUBLISH_LOCK = 0x636b7074;
/** A full tree (65,536 leaves) holds about 131,000 32-byte nodes; a few are kept. */
const CACHED_TREES = 4;

export interface CheckpointView {
  seq: number;
  at: string;
  prevRoot: string;
  root: string;
  size: number;
  jws: string;
}

export interface InclusionProof {
  checkpoint: CheckpointView;
  leaf: { seq: number; hash: string; index: number };
  auditPath: string[];
  method: string;
}

export interface PublishOptions {
  /** Publish only when the latest checkpoint is at least this old (ms); checked under the lock. */
  ifOlderThanMs?: number;
  /** Look at every chain, not only those stamped since the previous checkpoint (catch-up). */
  full?: boolean;
  /** The checkpoint's time; the database's clock by default. */
  now?: Date;
  /** At most this many chains in one checkpoint (MAX_LEAVES by default). */
  maxLeaves?: number;
}

interface CheckpointRow {
  id: string;
  at: Date;
  prev_root: string;
  root: string;
  size: number;
  jws: string;
}

const COLUMNS = 'id, at, prev_root, root, size, jws';

const view = (row: CheckpointRow): CheckpointView => ({
  seq: Number(row.id),
  at: row.at.toISOString(),
  prevRoot: row.prev_root,
  root: row.root,
  size: row.size,
  jws: row.jws,
});

const leafOf = (entryHash: string) => leafHash(Buffer.from(entryHash, 'hex'));

@Injectable()
export class AccessLogCheckpoints {
  /** Checkpoints never change: the trees of the latest ones asked for, so a proof costs a lookup. */
  private readonly trees = new Map<number, Buffer[][]>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly signer: PlatformSigner,
  ) {}

  /** Signs and stores the next checkpoint(s); empty when none was due or no chain grew. */
  async publish(options: PublishOptions = {}): Promise<CheckpointView[]> {
    return this.dataSource.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock($1)', [PUBLISH_LOCK]);
      // Background work over every chain that grew in a period, not a request: the apps' statement
      // timeout (DATABASE_STATEMENT_TIMEOUT_MILLISECONDS) would cut it at a province's scale.
      await em.query('SET LOCAL statement_timeout = 0');
      const [previous]: CheckpointRow[] = await em.query(
        `SELECT ${COLUMNS} FROM access_log_checkpoint ORDER BY id DESC LIMIT 1`,
      );
      const now = options.now ?? ((await em.query('SELECT now() AS now'))[0].now as Date);
      if (previous && now < previous.at)
        throw new Error(`the clock is behind the latest checkpoint (${previous.at.toISOString()})`);
      if (previous && options.ifOlderThanMs && now.getTime() - previous.at.getTime() < options.ifOlderThanMs)
        return [];
      const since = previous && !options.full ? new Date(previous.at.getTime() - LOOKBACK_MS) : new Date(0);
      const heads = await this.uncoveredHeads(em, since);

      const published: CheckpointView[] = [];
      let seq = previous ? Number(previous.id) : 0;
      let prevRoot = previous?.root ?? GENESIS_HASH;
      const maxLeaves = options.maxLeaves ?? MAX_LEAVES;
      for (let start = 0; start < heads.length; start += maxLeaves) {
        const batch = heads.slice(start, start + maxLeaves);
        seq += 1;
        const root = merkleRoot(batch.map((h) => leafOf(h.hash))).toString('hex');
        const at = now.toISOString();
        const jws = await this.signer.signJson(
          { seq, at, prevRoot, root, size: batch.length, method: CHECKPOINT_METHOD },
          CHECKPOINT_TYPE,
        );
        await em.query(`INSERT INTO access_log_checkpoint (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, [
          seq,
          at,
          prevRoot,
          root,
          batch.length,
          jws,
        ]);
        await em.query(
          `INSERT INTO access_log_checkpoint_leaf (checkpoint_id, position, citizen_id, seq, hash)
           SELECT $1, t.n - 1, t.citizen_id, t.seq, t.hash
             FROM unnest($2::uuid[], $3::bigint[], $4::text[]) WITH ORDINALITY AS t(citizen_id, seq, hash, n)`,
          [seq, batch.map((h) => h.citizen_id), batch.map((h) => h.seq), batch.map((h) => h.hash)],
        );
        published.push({ seq, at, prevRoot, root, size: batch.length, jws });
        prevRoot = root;
      }
      return published;
    });
  }

  /** The head of each chain with an entry stamped after `since` that no checkpoint covers yet, by citizen. */
  private uncoveredHeads(
    em: EntityManager,
    since: Date,
  ): Promise<{ citizen_id: string; seq: string; hash: string }[]> {
    return em.query(
      `WITH grown AS (SELECT DISTINCT citizen_id FROM access_log_entry WHERE at > $1)
       SELECT g.citizen_id, h.seq, h.hash
         FROM grown g
         CROSS JOIN LATERAL (SELECT seq, hash FROM access_log_entry e
                              WHERE e.citizen_id = g.citizen_id ORDER BY seq DESC LIMIT 1) h
        WHERE h.seq > coalesce((SELECT l.seq FROM access_log_checkpoint_leaf l WHERE l.citizen_id = g.citizen_id
                                 ORDER BY l.checkpoint_id DESC LIMIT 1), 0)
        ORDER BY g.citizen_id`,
      [since],
    );
  }

  /** Newest first. */
  async list(limit: number, before?: number): Promise<CheckpointView[]> {
    const rows: CheckpointRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM access_log_checkpoint
        WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2`,
      [before ?? null, limit],
    );
    return rows.map(view);
  }

  /**
   * The latest checkpoint that covers the citizen's chain, the entry it
   * covers and the audit path from that entry to the signed root.
   */
  async proofFor(citizenId: string): Promise<InclusionProof | null> {
    const [leaf]: { checkpoint_id: string; position: number; seq: string; hash: string }[] =
      await this.dataSource.query(
        `SELECT checkpoint_id, position, seq, hash FROM access_log_checkpoint_leaf
          WHERE citizen_id = $1 ORDER BY checkpoint_id DESC LIMIT 1`,
        [citizenId],
      );
    if (!leaf) return null;
    const checkpointSeq = Number(leaf.checkpoint_id);
    const [checkpoint]: CheckpointRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM access_log_checkpoint WHERE id = $1`,
      [checkpointSeq],
    );
    return {
      checkpoint: view(checkpoint),
      leaf: { seq: Number(leaf.seq), hash: leaf.hash, index: leaf.position },
      auditPath: auditPath(await this.tree(checkpointSeq), leaf.position).map((node) => node.toString('hex')),
      method: CHECKPOINT_METHOD,
    };
  }

  private async tree(checkpointSeq: number): Promise<Buffer[][]> {
    const cached = this.trees.get(checkpointSeq);
    if (cached) return cached;
    const leaves: { hash: string }[] = await this.dataSource.query(
      `SELECT hash FROM access_log_checkpoint_leaf WHERE checkpoint_id = $1 ORDER BY position`,
      [checkpointSeq],
    );
    const levels = merkleLevels(leaves.map((l) => leafOf(l.hash)));
    if (this.trees.size >= CACHED_TREES) this.trees.delete(this.trees.keys().next().value!);
    this.trees.set(checkpointSeq, levels);
    return levels;
  }
}

/** The roots stored for these checkpoints, by seq (a missing one is absent), to compare with roots kept elsewhere. */
export async function storedRoots(dataSource: DataSource, seqs: number[]): Promise<Map<number, string>> {
  const rows: { id: string; root: string }[] = await dataSource.query(
    `SELECT id, root FROM access_log_checkpoint WHERE id = ANY ($1)`,
    [seqs],
  );
  return new Map(rows.map((row) => [Number(row.id), row.root]));
}

export interface CheckpointAudit {
  checkpoints: number;
  leaves: number;
  /** The first checkpoint (in order) that does not hold, and why; the chain entry concerned when there is one. */
  broken: { checkpoint: number; reason: string; citizenId?: string; seq?: number } | null;
  /** Entries older than the latest checkpoint's look-back that no checkpoint covers (the first few). */
  uncovered: { citizenId: string; seq: number }[];
}

/**
 * Checks every checkpoint: its signature (with the public keys given: keep
 * a copy of them, and of the published checkpoints, off the platform), the
 * link to the previous root, the root recomputed from its leaves, and each
 * leaf against the chain entry it covers as stored now. Then lists chains
 * whose growth the checkpoints should have covered by now but did not.
 */
export async function auditCheckpoints(dataSource: DataSource, publicKeys: JWK[]): Promise<CheckpointAudit> {
  const keys = createLocalJWKSet({ keys: publicKeys });
  let expected = 1;
  let prevRoot = GENESIS_HASH;
  let leafCount = 0;
  let latestAt: Date | null = null;
  const result = (broken: CheckpointAudit['broken'], uncovered: CheckpointAudit['uncovered'] = []) => ({
    checkpoints: expected - 1,
    leaves: leafCount,
    broken,
    uncovered,
  });
  for (;;) {
    const rows: CheckpointRow[] = await dataSource.query(
      `SELECT ${COLUMNS} FROM access_log_checkpoint WHERE id >= $1 ORDER BY id LIMIT 100`,
      [expected],
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      const { jws, ...checkpoint } = view(row);
      const broken = (reason: string, entry?: { citizenId: string; seq: number }) =>
        result({ checkpoint: checkpoint.seq, reason, ...entry });
      if (checkpoint.seq !== expected) return broken(`checkpoint ${expected} is missing`);
      let signed: Record<string, unknown>;
      try {
        const { payload, protectedHeader } = await compactVerify(jws, keys);
        if (protectedHeader.typ !== CHECKPOINT_TYPE) return broken('not a checkpoint signature');
        signed = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
      } catch {
        return broken('the signature does not verify with the keys given');
      }
      for (const [field, value] of Object.entries(checkpoint)) {
        if (signed[field] !== value) return broken(`its ${field} differs from the signed one`);
      }
      if (checkpoint.prevRoot !== prevRoot) return broken(`it does not follow checkpoint ${expected - 1}`);

      const leaves: {
        position: number;
        citizen_id: string;
        seq: string;
        hash: string;
        entry_hash: string | null;
      }[] = await dataSource.query(
        `SELECT l.position, l.citizen_id, l.seq, l.hash, e.hash AS entry_hash
             FROM access_log_checkpoint_leaf l
             LEFT JOIN access_log_entry e ON e.citizen_id = l.citizen_id AND e.seq = l.seq
            WHERE l.checkpoint_id = $1 ORDER BY l.position`,
        [checkpoint.seq],
      );
      if (leaves.length !== checkpoint.size || leaves.some((leaf, i) => leaf.position !== i))
        return broken('its leaves are not the ones signed');
      const changed = leaves.find((leaf) => leaf.entry_hash !== leaf.hash);
      if (changed)
        return broken('a chain entry no longer matches the signed checkpoint', {
          citizenId: changed.citizen_id,
          seq: Number(changed.seq),
        });
      if (merkleRoot(leaves.map((leaf) => leafOf(leaf.hash))).toString('hex') !== checkpoint.root)
        return broken('its leaves are not the ones signed');
      leafCount += leaves.length;
      prevRoot = checkpoint.root;
      latestAt = row.at;
      expected += 1;
    }
  }
  if (!latestAt) return result(null);
  const uncovered: { citizen_id: string; seq: string }[] = await dataSource.query(
    `SELECT e.citizen_id, min(e.seq) AS seq
       FROM access_log_entry e
      WHERE e.at <= $1
        AND e.seq > coalesce((SELECT l.seq FROM access_log_checkpoint_leaf l WHERE l.citizen_id = e.citizen_id
                               ORDER BY l.checkpoint_id DESC LIMIT 1), 0)
      GROUP BY e.citizen_id ORDER BY e.citizen_id LIMIT 10`,
    [new Date(latestAt.getTime() - LOOKBACK_MS)],
  );
  return result(
    null,
    uncovered.map((u) => ({ citizenId: u.citizen_id, seq: Number(u.seq) })),
  );
}
