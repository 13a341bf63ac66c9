import type { JsonValue } from '#libs/catalogue';
import { open, seal } from '#libs/crypto';

/** The AAD binds a ciphertext to its citizen and attribute: moved to another row, it no longer opens. */
function aad(citizenId: string, attribute: string): string {
  return `attribute|${citizenId}|${attribute}`;
}

export function encryptAttribute(
  key: Buffer,
  value: JsonValue,
  citizenId: string,
  attribute: string,
): Buffer {
  return seal(key, Buffer.from(JSON.stringify(value), 'utf8'), aad(citizenId, attribute));
}

export function decryptAttribute(
  key: Buffer,
  ciphertext: Buffer,
  citizenId: string,
  attribute: string,
): JsonValue {
  return JSON.parse(open(key, ciphertext, aad(citizenId, attribute)).toString('utf8')) as JsonValue;
}
