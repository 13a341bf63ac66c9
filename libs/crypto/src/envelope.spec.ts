import { randomBytes } from 'node:crypto';
import type { MasterKey } from '#libs/config';
import { MasterKeyring, open, seal } from './envelope.js';

const AAD = 'attribute|citizen-a|contact.email';
const PLAINTEXT = Buffer.from('marie.tremblay@example.qc.ca', 'utf8');

function aesKey(): Buffer {
  return randomBytes(32);
}

function masterKey(version: number, id = 'main'): MasterKey {
  return { id, version, key: aesKey() };
}

/** A copy of the box with one bit flipped at `index` (negative: from the end). */
function flipBit(box: Buffer, index: number): Buffer {
  const copy = Buffer.from(box);
  copy[index < 0 ? copy.length + index : index] ^= 0x01;
  return copy;
}

describe(seal.name, () => {
  it('produces [format 0x01][iv 12][tag 16][ciphertext] that hides the plaintext', () => {
    const box = seal(aesKey(), PLAINTEXT, AAD);
    expect(box[0]).toBe(0x01);
    expect(box).toHaveLength(1 + 12 + 16 + PLAINTEXT.length);
    expect(box.includes(PLAINTEXT)).toBe(false);
  });

  it('uses a fresh IV each time, so the same value seals differently', () => {
    const key = aesKey();
    const a = seal(key, PLAINTEXT, AAD);
    const b = seal(key, PLAINTEXT, AAD);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });
});

describe(open.name, () => {
  const key = aesKey();
  const box = seal(key, PLAINTEXT, AAD);

  it('returns the sealed bytes with the same key and AAD', () => {
    expect(open(key, box, AAD).toString('utf8')).toBe('marie.tremblay@example.qc.ca');
  });

  it('round-trips an empty value and a large one', () => {
    const large = randomBytes(64 * 1024);
    expect(open(key, seal(key, Buffer.alloc(0), AAD), AAD)).toHaveLength(0);
    expect(open(key, seal(key, large, AAD), AAD).equals(large)).toBe(true);
  });

  it('fails with another AAD (a value moved to another place)', () => {
    expect(() => open(key, box, 'attribute|citizen-b|contact.email')).toThrow();
    expect(() => open(key, box, '')).toThrow();
  });

  it('fails with another key', () => {
    expect(() => open(aesKey(), box, AAD)).toThrow();
  });

  it.each([
    ['the IV', 1],
    ['the tag', 1 + 12],
    ['the first ciphertext byte', 1 + 12 + 16],
    ['the last ciphertext byte', -1],
  ])('fails when one bit of %s is flipped', (_part, index) => {
    expect(() => open(key, flipBit(box, index), AAD)).toThrow();
  });

  it('refuses an unknown format byte', () => {
    expect(() => open(key, flipBit(box, 0), AAD)).toThrow('Unknown ciphertext format');
  });

  it('refuses a box too short to hold an IV and a tag', () => {
    expect(() => open(key, box.subarray(0, 1 + 12 + 15), AAD)).toThrow('Unknown ciphertext format');
  });

  it('fails when the ciphertext is truncated', () => {
    expect(() => open(key, box.subarray(0, box.length - 1), AAD)).toThrow();
  });
});

describe(MasterKeyring.name, () => {
  it('refuses to be built without a key', () => {
    expect(() => new MasterKeyring([])).toThrow('At least one master key is required');
  });

  it('wraps new data keys with the highest version, whatever the order of configuration', () => {
    const v1 = masterKey(1);
    const v3 = masterKey(3);
    const v2 = masterKey(2);
    const ring = new MasterKeyring([v1, v3, v2]);
    expect(ring.current).toBe(v3);
    expect(ring.wrap(ring.newDataKey(), 'citizen-a')).toMatchObject({
      masterKeyId: 'main',
      masterKeyVersion: 3,
    });
  });

  it('creates distinct 32-byte data keys', () => {
    const ring = new MasterKeyring([masterKey(1)]);
    const a = ring.newDataKey();
    expect(a).toHaveLength(32);
    expect(a.equals(ring.newDataKey())).toBe(false);
  });

  it('unwraps what it wrapped, and the data key opens what it sealed', () => {
    const ring = new MasterKeyring([masterKey(1)]);
    const dataKey = ring.newDataKey();
    const wrapped = ring.wrap(dataKey, 'citizen-a');
    expect(wrapped.wrapped.includes(dataKey)).toBe(false);
    const unwrapped = ring.unwrap(wrapped, 'citizen-a');
    expect(unwrapped.equals(dataKey)).toBe(true);
    expect(open(unwrapped, seal(dataKey, PLAINTEXT, AAD), AAD).equals(PLAINTEXT)).toBe(true);
  });

  it('still unwraps a key wrapped under an older version that is still configured (rotation)', () => {
    const v1 = masterKey(1);
    const before = new MasterKeyring([v1]);
    const dataKey = before.newDataKey();
    const wrappedUnderV1 = before.wrap(dataKey, 'citizen-a');

    const after = new MasterKeyring([v1, masterKey(2)]);
    expect(after.unwrap(wrappedUnderV1, 'citizen-a').equals(dataKey)).toBe(true);
    expect(after.wrap(dataKey, 'citizen-a').masterKeyVersion).toBe(2);
  });

  it('can wrap with an explicit older key, for re-wrapping during rotation', () => {
    const v1 = masterKey(1);
    const ring = new MasterKeyring([v1, masterKey(2)]);
    const dataKey = ring.newDataKey();
    const wrapped = ring.wrap(dataKey, 'citizen-a', v1);
    expect(wrapped.masterKeyVersion).toBe(1);
    expect(ring.unwrap(wrapped, 'citizen-a').equals(dataKey)).toBe(true);
  });

  it('refuses a version that is no longer configured, naming it', () => {
    const before = new MasterKeyring([masterKey(1)]);
    const wrapped = before.wrap(before.newDataKey(), 'citizen-a');
    const after = new MasterKeyring([masterKey(2)]);
    expect(() => after.unwrap(wrapped, 'citizen-a')).toThrow('Master key main version 1 is not configured');
  });

  it('refuses a key id that is not configured, even at a known version', () => {
    const ring = new MasterKeyring([masterKey(1, 'main')]);
    const wrapped = ring.wrap(ring.newDataKey(), 'citizen-a');
    expect(() => ring.unwrap({ ...wrapped, masterKeyId: 'other' }, 'citizen-a')).toThrow(
      'Master key other version 1 is not configured',
    );
  });

  it('does not unwrap a key wrapped for citizen A as citizen B', () => {
    const ring = new MasterKeyring([masterKey(1)]);
    const wrappedForA = ring.wrap(ring.newDataKey(), 'citizen-a');
    expect(() => ring.unwrap(wrappedForA, 'citizen-b')).toThrow();
  });

  it('does not unwrap under a relabelled version, even when both versions are configured', () => {
    const ring = new MasterKeyring([masterKey(1), masterKey(2)]);
    const wrapped = ring.wrap(ring.newDataKey(), 'citizen-a');
    expect(() => ring.unwrap({ ...wrapped, masterKeyVersion: 1 }, 'citizen-a')).toThrow();
  });

  it('does not unwrap under another ring whose key has the same id and version but other bytes', () => {
    const wrapped = new MasterKeyring([masterKey(1)]).wrap(randomBytes(32), 'citizen-a');
    expect(() => new MasterKeyring([masterKey(1)]).unwrap(wrapped, 'citizen-a')).toThrow();
  });
});
