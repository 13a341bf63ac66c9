import { Injectable } from '@nestjs/common';
import { compactVerify, createLocalJWKSet, type JWK } from 'jose';
import { DataSource } from 'typeorm';
import { PlatformSigner } from '#libs/crypto';
import { GENESIS_HASH } from './hash-chain.js';
import { auditPath, leafHash, merkleRoot } from './merkle.js';

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

/** Entries are stamped by the app before they commit: a chain is looked for this far before the previous checkpoint. */
const LOOKBACK_MS = 60 * 60_000;
/** Advisory-lock key: one publisher at a time, whatever the number of schedulers. */
const PUBLISH_LOCK = 0x636b7074;
const LEAF_BATCH = 10_000;

export interface CheckpointView {
  id: number;
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

interface CheckpointRow {
  id: string;
  at: Date;
  prev_root: string;
  root: string;
  size: number;
  jws: string;
}

const view = (row: CheckpointRow): CheckpointView => ({
  id: Number(row.id),
  at: row.at.toISOString(),
  prevRoot: row.prev_root,
  root: row.root,
  size: row.size,
  jws: row.jws,
});

const leafOf = (entryHash: string) => leafHash(Buffer.from(entryHash, 'hex'));

@Injectable()
export class AccessLogCheckpoints {
  constructor(
    private readonly dataSource: DataSource,
    private readonly signer: PlatformSigner,
  ) {}

  /** Signs and stores the next checkpoint; null when no chain grew since the last one. */
  async publish(now = new Date()): Promise<CheckpointView | null> {
    return this.dataSource.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock($1)', [PUBLISH_LOCK]);
      const [previous]: CheckpointRow[] = await em.query(
        `SELECT id, at, prev_root, root, size, jws FROM access_log_checkpoint ORDER BY id DESC LIMIT 1`,
      );
      const since = previous ? new Date(previous.at.getTime() - LOOKBACK_MS) : new Date(0);
      const heads: { citizen_id: string; seq: string; hash: string }[] = await em.query(
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
      if (heads.length === 0) return null;

      const id = previous ? Number(previous.id) + 1 : 1;
      const prevRoot = previous?.root ?? GENESIS_HASH;
      const root = merkleRoot(heads.map((h) => leafOf(h.hash))).toString('hex');
      const at = now.toISOString();
      const jws = await this.signer.signJson(
        { checkpoint: id, at, prevRoot, root, size: heads.length, method: CHECKPOINT_METHOD },
        CHECKPOINT_TYPE,
      );
      await em.query(
        `INSERT INTO access_log_checkpoint (id, at, prev_root, root, size, jws) VALUES ($1, $2, $3, $4, $5, $6)`,
        [id, at, prevRoot, root, heads.length, jws],
      );
      for (let start = 0; start < heads.length; start += LEAF_BATCH) {
        const batch = heads.slice(start, start + LEAF_BATCH);
        await em.query(
          `INSERT INTO access_log_checkpoint_leaf (checkpoint_id, position, citizen_id, seq, hash)
           SELECT $1, $2 + t.n - 1, t.citizen_id, t.seq, t.hash
             FROM unnest($3::uuid[], $4::bigint[], $5::text[]) WITH ORDINALITY AS t(citizen_id, seq, hash, n)`,
          [id, start, batch.map((h) => h.citizen_id), batch.map((h) => h.seq), batch.map((h) => h.hash)],
        );
      }
      return { id, at, prevRoot, root, size: heads.length, jws };
    });
  }

  /** Newest first. */
  async list(limit: number, before?: number): Promise<CheckpointView[]> {
    const rows: CheckpointRow[] = await this.dataSource.query(
      `SELECT id, at, prev_root, root, size, jws FROM access_log_checkpoint
        WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2`,
      [before ?? null, limit],
    );
    return rows.map(view);
  }

  /**
   * The latest checkpoint that covers the citizen's chain, the entry it
   * covers and the audit path from that entry to the signed root. Reads the
   * checkpoint's leaves: linear in its size, which is the number of chains
   * that grew in one period.
   */
  async proofFor(citizenId: string): Promise<InclusionProof | null> {
    const [leaf]: { checkpoint_id: string; position: number; seq: string; hash: string }[] =
      await this.dataSource.query(
        `SELECT checkpoint_id, position, seq, hash FROM access_log_checkpoint_leaf
          WHERE citizen_id = $1 ORDER BY checkpoint_id DESC LIMIT 1`,
        [citizenId],
      );
    if (!leaf) return null;
    const [checkpoint]: CheckpointRow[] = await this.dataSource.query(
      `SELECT id, at, prev_root, root, size, jws FROM access_log_checkpoint WHERE id = $1`,
      [leaf.checkpoint_id],
    );
    const leaves: { hash: string }[] = await this.dataSource.query(
      `SELECT hash FROM access_log_checkpoint_leaf WHERE checkpoint_id = $1 ORDER BY position`,
      [leaf.checkpoint_id],
    );
    return {
      checkpoint: view(checkpoint),
      leaf: { seq: Number(leaf.seq), hash: leaf.hash, index: leaf.position },
      auditPath: auditPath(
        leaves.map((l) => leafOf(l.hash)),
        leaf.position,
      ).map((node) => node.toString('hex')),
      method: CHECKPOINT_METHOD,
    };
  }
}

export interface CheckpointAudit {
  checkpoints: number;
  leaves: number;
  /** The first checkpoint (in id order) that does not hold, and why; the chain entry concerned when there is one. */
  broken: { checkpoint: number; reason: string; citizenId?: string; seq?: number } | null;
}

/**
 * Checks every checkpoint: its signature (with the platform's public keys),
 * the link to the previous root, the root recomputed from its leaves, and
 * each leaf against the chain entry it covers as stored now.
 */
export async function auditCheckpoints(dataSource: DataSource, publicKeys: JWK[]): Promise<CheckpointAudit> {
  const keys = createLocalJWKSet({ keys: publicKeys });
  let expectedId = 1;
  let prevRoot = GENESIS_HASH;
  let leafCount = 0;
  let after = 0;
  for (;;) {
    const rows: CheckpointRow[] = await dataSource.query(
      `SELECT id, at, prev_root, root, size, jws FROM access_log_checkpoint WHERE id > $1 ORDER BY id LIMIT 100`,
      [after],
    );
    if (rows.length === 0) return { checkpoints: expectedId - 1, leaves: leafCount, broken: null };
    for (const row of rows) {
      const checkpoint = view(row);
      const broken = (reason: string, entry?: { citizenId: string; seq: number }) => ({
        checkpoints: expectedId - 1,
        leaves: leafCount,
        broken: { checkpoint: checkpoint.id, reason, ...entry },
      });
      if (checkpoint.id !== expectedId) return broken(`checkpoint ${expectedId} is missing`);
      let signed: Record<string, unknown>;
      try {
        const { payload, protectedHeader } = await compactVerify(checkpoint.jws, keys);
        if (protectedHeader.typ !== CHECKPOINT_TYPE) return broken('not a checkpoint signature');
        signed = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
      } catch {
        return broken('the signature does not verify with the platform keys');
      }
      const { jws: _jws, id, ...fields } = checkpoint;
      for (const [field, value] of Object.entries({ checkpoint: id, ...fields })) {
        if (signed[field] !== value) return broken(`its ${field} differs from the signed one`);
      }
      if (checkpoint.prevRoot !== prevRoot) return broken(`it does not follow checkpoint ${id - 1}`);

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
        [checkpoint.id],
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
      expectedId += 1;
    }
    after = Number(rows[rows.length - 1].id);
  }
}
