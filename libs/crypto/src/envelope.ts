import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { MasterKey } from '#libs/config';

const FORMAT_V1 = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** AES-256-GCM with a format byte: [0x01][iv 12][tag 16][ciphertext]. The AAD binds the value to its place. */
export function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(FORMAT_V1), iv, cipher.getAuthTag(), ciphertext]);
}

/** Throws when the key, the AAD or a single bit of the box is wrong. */
export function open(key: Buffer, box: Buffer, aad: string): Buffer {
  if (box.length < 1 + IV_BYTES + TAG_BYTES || box[0] !== FORMAT_V1) {
    throw new Error('Unknown ciphertext format');
  }
  const iv = box.subarray(1, 1 + IV_BYTES);
  const tag = box.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(box.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
}

export interface WrappedKey {
  masterKeyId: string;
  masterKeyVersion: number;
  wrapped: Buffer;
}

/** The master keys of the configuration; the highest version wraps new data keys. */
export class MasterKeyring {
  private readonly byRef = new Map<string, MasterKey>();
  readonly current: MasterKey;

  constructor(keys: MasterKey[]) {
    if (keys.length === 0) throw new Error('At least one master key is required');
    for (const key of keys) this.byRef.set(`${key.id}:${key.version}`, key);
    this.current = keys.reduce((a, b) => (b.version > a.version ? b : a));
  }

  newDataKey(): Buffer {
    return randomBytes(32);
  }

  /** The data key is bound to its citizen: a wrapped key copied to another citizen does not unwrap. */
  wrap(dataKey: Buffer, citizenId: string, master: MasterKey = this.current): WrappedKey {
    return {
      masterKeyId: master.id,
      masterKeyVersion: master.version,
      wrapped: seal(master.key, dataKey, wrapAad(citizenId, master)),
    };
  }

  unwrap(key: WrappedKey, citizenId: string): Buffer {
    const master = this.byRef.get(`${key.masterKeyId}:${key.masterKeyVersion}`);
    if (!master) {
      throw new Error(`Master key ${key.masterKeyId} version ${key.masterKeyVersion} is not configured`);
    }
    return open(master.key, key.wrapped, wrapAad(citizenId, master));
  }
}

function wrapAad(citizenId: string, master: MasterKey): string {
  return `data-key|${citizenId}|${master.id}|${master.version}`;
}
