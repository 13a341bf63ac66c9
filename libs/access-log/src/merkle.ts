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

/**
 * Every level of the tree, leaves first, root last. Pairing nodes left to
 * right and carrying an odd last node up unchanged builds exactly RFC 6962's
 * tree (which splits at the largest power of two below n), in linear time.
 */
export function merkleLevels(leaves: Buffer[]): Buffer[][] {
  const levels = [leaves];
  while (levels[levels.length - 1].length > 1) {
    const below = levels[levels.length - 1];
    const level: Buffer[] = [];
    for (let i = 0; i < below.length; i += 2)
      level.push(i + 1 < below.length ? nodeHash(below[i], below[i + 1]) : below[i]);
    levels.push(level);
  }
  return levels;
}

/** MTH(D[n]) over leaf hashes already computed. */
export function merkleRoot(leaves: Buffer[]): Buffer {
  return leaves.length === 0 ? sha256() : merkleLevels(leaves).at(-1)![0];
}

/** PATH(m, D[n]): the sibling hashes from leaf m up to the root, from the tree's levels. */
export function auditPath(levels: Buffer[][], index: number): Buffer[] {
  const size = levels[0].length;
  if (!Number.isInteger(index) || index < 0 || index >= size)
    throw new RangeError(`no leaf ${index} in a tree of ${size}`);
  const path: Buffer[] = [];
  let position = index;
  for (const level of levels.slice(0, -1)) {
    const sibling = position ^ 1;
    if (sibling < level.length) path.push(level[sibling]);
    position >>= 1;
  }
  return path;
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
