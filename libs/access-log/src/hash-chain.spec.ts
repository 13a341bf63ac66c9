import { createHash } from 'node:crypto';
import type { AccessLogEntry } from './access-log-entry.entity.js';
import {
  canonicalEntry,
  canonicalJson,
  chainBatch,
  entryHash,
  firstBrokenEntry,
  GENESIS_HASH,
} from './hash-chain.js';

const CITIZEN = '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';

type Fields = Omit<AccessLogEntry, 'hash' | 'prevHash'>;

function fields(seq: number, overrides: Partial<Fields> = {}): Fields {
  return {
    citizenId: CITIZEN,
    seq,
    at: new Date(Date.UTC(2026, 2, 1, 12, 0, seq)),
    serviceId: 'saaq-permis',
    organisationId: 'SAAQ',
    purpose: 'licence-renewal',
    requestId: `req-${seq}`,
    attributes: ['address.residential', 'contact.email'],
    outcome: 'partial',
    released: ['address.residential'],
    withheld: [{ attribute: 'contact.email', reason: 'consent_required' }],
    basis: [{ attribute: 'address.residential', kind: 'consent', consentId: `consent-${seq}` }],
    ...overrides,
  };
}

/** A chain built the way the access log appends: each entry links to the hash of the one before. */
function chain(length: number): AccessLogEntry[] {
  const entries: AccessLogEntry[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= length; seq++) {
    const entry = fields(seq);
    const hash = entryHash(prevHash, entry);
    entries.push({ ...entry, prevHash, hash });
    prevHash = hash;
  }
  return entries;
}

describe(canonicalJson.name, () => {
  it('sorts keys at every level, including inside arrays, with no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives the same text whatever the insertion order of keys', () => {
    const one = { outcome: 'released', basis: [{ kind: 'consent', attribute: 'a' }], seq: 1 };
    const other = { seq: 1, basis: [{ attribute: 'a', kind: 'consent' }], outcome: 'released' };
    expect(canonicalJson(one)).toBe(canonicalJson(other));
  });

  it('keeps the order of array items', () => {
    expect(canonicalJson(['b', 'a'])).toBe('["b","a"]');
  });

  it('leaves out undefined properties, as JSON.stringify does', () => {
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
  });

  it('writes undefined array items as null, as JSON does', () => {
    expect(canonicalJson([1, undefined, 2])).toBe('[1,null,2]');
    expect(JSON.parse(canonicalJson([1, undefined, 2]))).toEqual([1, null, 2]);
  });

  it('writes a date as its ISO string', () => {
    expect(canonicalJson({ at: new Date('2026-03-01T12:00:00.000Z') })).toBe(
      '{"at":"2026-03-01T12:00:00.000Z"}',
    );
  });

  it('escapes strings as JSON does', () => {
    const text = canonicalJson({ 'clé "x"': 'ligne\nsuivante' });
    expect(JSON.parse(text)).toEqual({ 'clé "x"': 'ligne\nsuivante' });
  });
});

describe(entryHash.name, () => {
  it('is SHA-256 over the previous hash then the canonical entry, in hex', () => {
    const entry = fields(1);
    const expected = createHash('sha256')
      .update(GENESIS_HASH + canonicalEntry(entry))
      .digest('hex');
    expect(entryHash(GENESIS_HASH, entry)).toBe(expected);
    expect(entryHash(GENESIS_HASH, entry)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is deterministic, whatever the order of the fields of the entry', () => {
    const entry = fields(1);
    const reversed = Object.fromEntries(Object.entries(entry).reverse()) as unknown as Fields;
    expect(entryHash(GENESIS_HASH, entry)).toBe(entryHash(GENESIS_HASH, fields(1)));
    expect(entryHash(GENESIS_HASH, reversed)).toBe(entryHash(GENESIS_HASH, entry));
  });

  it('changes with the previous hash', () => {
    expect(entryHash('f'.repeat(64), fields(1))).not.toBe(entryHash(GENESIS_HASH, fields(1)));
  });

  it.each<[string, Partial<Fields>]>([
    ['seq', { seq: 2 }],
    ['citizenId', { citizenId: '00000000-0000-4000-8000-000000000000' }],
    ['at', { at: new Date(Date.UTC(2026, 2, 1, 12, 0, 2)) }],
    ['serviceId', { serviceId: 'saaq-adresse' }],
    ['organisationId', { organisationId: 'RQ' }],
    ['purpose', { purpose: 'tax-credit' }],
    ['requestId', { requestId: null }],
    ['attributes', { attributes: ['contact.email', 'address.residential'] }],
    ['outcome', { outcome: 'released' }],
    ['released', { released: [] }],
    ['withheld', { withheld: [{ attribute: 'contact.email', reason: 'not_held' }] }],
    [
      'basis',
      {
        basis: [{ attribute: 'address.residential', kind: 'legal_basis', legalBasisId: 'b', reference: 'r' }],
      },
    ],
  ])('changes when %s changes', (_field, change) => {
    expect(entryHash(GENESIS_HASH, fields(1, change))).not.toBe(entryHash(GENESIS_HASH, fields(1)));
  });
});

describe(firstBrokenEntry.name, () => {
  it('returns null for an intact chain of 5 entries', () => {
    expect(firstBrokenEntry(chain(5))).toBeNull();
  });

  it('returns null for an empty log', () => {
    expect(firstBrokenEntry([])).toBeNull();
  });

  it('returns the entry whose field was changed', () => {
    const entries = chain(5);
    entries[2] = { ...entries[2], purpose: 'tax-credit' };
    expect(firstBrokenEntry(entries)).toBe(entries[2]);
  });

  it('returns the entry whose stored hash was changed', () => {
    const entries = chain(5);
    entries[4] = { ...entries[4], hash: 'a'.repeat(64) };
    expect(firstBrokenEntry(entries)).toBe(entries[4]);
  });

  it('returns the entry whose prevHash was changed', () => {
    const entries = chain(5);
    entries[3] = { ...entries[3], prevHash: entries[1].hash };
    expect(firstBrokenEntry(entries)).toBe(entries[3]);
  });

  it('returns the next entry when a changed entry had its hash recomputed', () => {
    const entries = chain(5);
    const rewritten = { ...entries[1], released: [], outcome: 'withheld' as const };
    entries[1] = { ...rewritten, hash: entryHash(rewritten.prevHash, rewritten) };
    expect(firstBrokenEntry(entries)).toBe(entries[2]);
  });

  it('returns the entry after a gap in seq', () => {
    const entries = chain(5);
    entries.splice(2, 1);
    expect(firstBrokenEntry(entries)).toBe(entries[2]);
    expect(entries[2].seq).toBe(4);
  });

  it('returns the first entry of a reordered pair', () => {
    const entries = chain(5);
    [entries[2], entries[3]] = [entries[3], entries[2]];
    expect(firstBrokenEntry(entries)).toBe(entries[2]);
    expect(entries[2].seq).toBe(4);
  });

  it('returns the first entry when the log does not start at seq 1', () => {
    const entries = chain(5).slice(1);
    expect(firstBrokenEntry(entries)).toBe(entries[0]);
  });

  it('returns the first entry when it does not link to the genesis hash', () => {
    const entries = chain(3);
    entries[0] = { ...entries[0], prevHash: '1'.repeat(64) };
    expect(firstBrokenEntry(entries)).toBe(entries[0]);
  });
});

describe(chainBatch.name, () => {
  const OTHER = '0e1d2c3b-4a59-4867-9564-738291a0b1c2';
  const pending = (citizenId: string, seq: number, head: { seq: number; hash: string } | null) => {
    const { seq: _seq, at, ...input } = fields(seq, { citizenId });
    return { head, input, at };
  };

  it("chains one citizen's appends of a batch after one another, from the head the first read", () => {
    const [first, second] = chain(2);
    const head = { seq: first.seq, hash: first.hash };
    // Both read the same head; the other citizen's append sits between them.
    const links = chainBatch([pending(CITIZEN, 2, head), pending(OTHER, 1, null), pending(CITIZEN, 3, head)]);
    expect(links.map((l) => [l.citizenId, l.seq])).toEqual([
      [CITIZEN, 2],
      [OTHER, 1],
      [CITIZEN, 3],
    ]);
    expect(links[0]).toEqual(second);
    expect(firstBrokenEntry([first, links[0], links[2]])).toBeNull();
    expect(firstBrokenEntry([links[1]])).toBeNull();
  });
});
