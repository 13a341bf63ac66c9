import { createHash } from 'node:crypto';

/**
 * Merkle tree hash and audit paths of RFC 6962 (Certificate Transparency,
 * section 2.1), over SHA-256: a leaf is SHA-256(0x00 ‖ data), an inner node
 * SHA-256(0x01 ‖ left ‖ right), and a tree of n leaves splits at the largest
 * power of two below n. Anyone can check an audit path with a few lines of
 * code and nothing from this project.
 */

const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export function leafHash(data: Buffer): Buffer {
  return sha256(LEAF, data);
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return sha256(NODE, left, right);
}

/** The largest power of two strictly below n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes already computed. */
export function merkleRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0];
  const k = split(leaves.length);
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

/** PATH(m, D[n]): the sibling hashes from leaf m up to the root. */
export function auditPath(leaves: Buffer[], index: number): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length)
    throw new RangeError(`no leaf ${index} in a tree of ${leaves.length}`);
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return index < k
    ? [...auditPath(leaves.slice(0, k), index), merkleRoot(leaves.slice(k))]
    : [...auditPath(leaves.slice(k), index - k), merkleRoot(leaves.slice(0, k))];
}

/** Recomputes the root from a leaf hash, its index, the tree size and its audit path (RFC 9162, 2.1.3.2). */
export function rootFromAuditPath(leaf: Buffer, index: number, size: number, path: Buffer[]): Buffer | null {
  if (!Number.isInteger(index) || index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}
