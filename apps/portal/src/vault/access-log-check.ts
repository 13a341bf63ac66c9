import { Injectable } from '@nestjs/common';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import {
  type AccessBasis,
  type AccessLogEntry,
  CHECKPOINT_TYPE,
  firstBrokenEntry,
  leafHash,
  rootFromAuditPath,
} from '#libs/access-log';
import { VaultClient, VaultProblem } from './vault-client.js';

/** An entry of the access log as the vault's API gives it. */
export interface AccessLogItem {
  seq: number;
  at: string;
  service: string;
  organisation: string;
  purpose: string;
  attributes: string[];
  outcome: 'released' | 'partial' | 'withheld';
  released: string[];
  withheld: { attribute: string; reason: string }[];
  basis: AccessBasis[];
  requestId: string | null;
  prevHash: string;
  hash: string;
}

interface Page {
  citizenId: string;
  entries: AccessLogItem[];
  head: { seq: number; hash: string } | null;
  nextBefore: number | null;
}

interface Proof {
  checkpoint: { seq: number; at: string; prevRoot: string; root: string; size: number; jws: string };
  leaf: { seq: number; hash: string; index: number };
  auditPath: string[];
}

export type Verification =
  | { state: 'verified'; checkpoint: { seq: number; at: string } }
  | { state: 'not-checkpointed' }
  /** Longer than the portal reads at once: shown, not checked here (audit:verify checks any length). */
  | { state: 'unchecked' }
  | { state: 'broken' };

/** Entries read to check a chain, at most: beyond, the page shows the newest without the mark. */
const MAX_ENTRIES = 10_000;

/** How long reading a long log may take in all before the page shows what it has, unchecked. */
const READ_BUDGET_MS = 15_000;

/** How long the vault's published keys are kept: they change only when its signing key rotates. */
const KEYS_KEPT_MS = 5 * 60_000;

/**
 * The citizen's access log, and whether it checks out, with nothing but the
 * vault's public API: every entry's hash recomputed from the one before
 * (rule 4), the head the vault gives matching, and the latest signed
 * checkpoint covering the chain — its leaf among the entries, the Merkle
 * path from it to the signed root, and the signature, against the vault's
 * published keys.
 */
@Injectable()
export class AccessLogCheck {
  private keys: { jwks: JSONWebKeySet; fetchedAt: number } | null = null;

  constructor(private readonly vault: VaultClient) {}

  /** The entries, newest first, and the verdict on them. */
  async read(token: string): Promise<{ entries: AccessLogItem[]; verification: Verification }> {
    const entries: AccessLogItem[] = [];
    let citizenId: string;
    let head: Page['head'] = null;
    let before: number | null = null;
    const until = Date.now() + READ_BUDGET_MS;
    do {
      const page: Page = await this.vault.json<Page>(
        token,
        'GET',
        `/v1/me/access-log?limit=200${before === null ? '' : `&before=${before}`}`,
      );
      if (before === null) head = page.head;
      citizenId = page.citizenId;
      entries.push(...page.entries);
      before = page.nextBefore;
    } while (before !== null && entries.length < MAX_ENTRIES && Date.now() < until);
    if (before !== null) return { entries, verification: { state: 'unchecked' } };
    return { entries, verification: await this.verify(token, citizenId, entries, head) };
  }

  /**
   * The vault's published keys, kept a while; asked again when the
   * checkpoint names a key they do not hold (the vault rotated its key).
   */
  private async vaultKeys(jws: string): Promise<JSONWebKeySet> {
    const { kid } = decodeProtectedHeader(jws);
    const kept = this.keys;
    if (kept && Date.now() - kept.fetchedAt < KEYS_KEPT_MS && kept.jwks.keys.some((key) => key.kid === kid))
      return kept.jwks;
    const jwks = await this.vault.json<JSONWebKeySet>(null, 'GET', '/.well-known/jwks.json');
    this.keys = { jwks, fetchedAt: Date.now() };
    return jwks;
  }

  private async verify(
    token: string,
    citizenId: string,
    newestFirst: AccessLogItem[],
    head: Page['head'],
  ): Promise<Verification> {
    const chain = [...newestFirst].reverse();
    const last = chain.at(-1);
    if (firstBrokenEntry(chain.map((item) => asEntry(citizenId, item))) !== null) return { state: 'broken' };
    if ((head?.hash ?? null) !== (last?.hash ?? null)) return { state: 'broken' };
    if (!last) return { state: 'not-checkpointed' };
    let proof: Proof;
    try {
      proof = await this.vault.json<Proof>(token, 'GET', '/v1/me/access-log/proof');
    } catch (error) {
      if (error instanceof VaultProblem && error.code === 'not_checkpointed') return { state: 'not-checkpointed' };
      throw error;
    }
    if (chain.find((item) => item.seq === proof.leaf.seq)?.hash !== proof.leaf.hash) return { state: 'broken' };
    const root = rootFromAuditPath(
      leafHash(Buffer.from(proof.leaf.hash, 'hex')),
      proof.leaf.index,
      proof.checkpoint.size,
      proof.auditPath.map((node) => Buffer.from(node, 'hex')),
    );
    if (root?.toString('hex') !== proof.checkpoint.root) return { state: 'broken' };
    try {
      const { payload, protectedHeader } = await compactVerify(
        proof.checkpoint.jws,
        createLocalJWKSet(await this.vaultKeys(proof.checkpoint.jws)),
      );
      const signed = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
      const { seq, at, prevRoot, root: signedRoot, size } = proof.checkpoint;
      const matches =
        protectedHeader.typ === CHECKPOINT_TYPE &&
        signed.seq === seq &&
        signed.at === at &&
        signed.prevRoot === prevRoot &&
        signed.root === signedRoot &&
        signed.size === size;
      return matches ? { state: 'verified', checkpoint: { seq, at } } : { state: 'broken' };
    } catch {
      return { state: 'broken' };
    }
  }
}

/** An entry of the API as the chain hashed it: the citizen's id is part of each hash. */
function asEntry(citizenId: string, item: AccessLogItem): AccessLogEntry {
  return {
    citizenId,
    seq: item.seq,
    at: new Date(item.at),
    serviceId: item.service,
    organisationId: item.organisation,
    purpose: item.purpose,
    requestId: item.requestId,
    attributes: item.attributes,
    outcome: item.outcome,
    released: item.released,
    withheld: item.withheld as AccessLogEntry['withheld'],
    basis: item.basis,
    prevHash: item.prevHash,
    hash: item.hash,
  };
}
