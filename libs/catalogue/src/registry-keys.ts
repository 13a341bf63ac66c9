import { createHash } from 'node:crypto';
import type { RegistryDocument } from './model.js';

/**
 * RFC 7638 thumbprints of the demo services' keys, whose private halves are
 * committed in config/demo/service-keys.json. Kept here because config/demo
 * is not in the production image, where they must still be recognised.
 */
export const DEMO_KEY_THUMBPRINTS: ReadonlySet<string> = new Set([
  '3nAfQ2LjNjT5SiMtl1LdY2k4pmRwlTrdi7Yjij8kqNk', // saaq-permis
  'GQmc-5VMX7YC7aROBTmGw4m6Z9-QHb-9RowVY9q8VFw', // saaq-adresse
  'tOvy1KpOkMFeAJLN4yr3wbSIFqHQP9PSNA5SBypYYc8', // ramq-carte
  'J_MWrdmwycc3RwHc9fAClNsR6Fx0UheOLCioyYQLVgw', // rq-credits
  '3X8uwLNkeq4ckY5-E6L2el3fj5pvYrkJRwlOWham5m4', // rq-depot
  'ZTcBHNzWF69d9XTFULyPY3wp8-v4QSbIxxPGnVD5AHY', // dec-registre
  '-OEFrX0ynpyzdHMk4H5Uhpf4AyqCYjpLRJ8GhM0bkMM', // retraite-rente
  '0jJPNjk5ihZNdE8x5KQK_NpBgZhC8gsdNLq4J84XWDI', // mess-aide
]);

/** JWK members that hold a private or secret part (RFC 7518 §6). */
export const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** The members RFC 7638 hashes, per key type. */
const THUMBPRINT_MEMBERS: Record<string, string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/** The RFC 7638 SHA-256 thumbprint of a public key; null for a key type it does not cover. */
export function jwkThumbprint(jwk: Record<string, unknown>): string | null {
  const members = THUMBPRINT_MEMBERS[String(jwk.kty)];
  if (!members || members.some((name) => typeof jwk[name] !== 'string')) return null;
  // Members in lexicographic order, no whitespace: exactly the JSON RFC 7638 hashes.
  const canonical = JSON.stringify(Object.fromEntries(members.map((name) => [name, jwk[name]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

export class RegistryRefusedError extends Error {
  constructor(readonly problems: string[]) {
    super(`Registry refused:\n  - ${problems.join('\n  - ')}`);
    this.name = 'RegistryRefusedError';
  }
}

/** Which keys an apply lets through besides public keys of the deployment's own. */
export interface RegistryKeyOptions {
  /** Production never applies a demo key, whatever else is said. */
  production: boolean;
  /**
   * Outside production, a demo key is applied only when the caller says so:
   * the demo's boot, or `registry:apply --allow-demo-keys`. The CLI's own
   * NODE_ENV says nothing of the database it writes to.
   */
  allowDemoKeys: boolean;
}

/**
 * Why a registry's keys must not be applied: a private part (a key anyone
 * who reads the registry could sign with) always; a demo key, whose private
 * half is public in the repository, in production and unless allowed.
 */
export function registryKeyProblems(registry: RegistryDocument, options: RegistryKeyOptions): string[] {
  const problems: string[] = [];
  for (const service of registry.services) {
    (service.jwks?.keys ?? []).forEach((jwk, index) => {
      const where = `service ${service.id}, key ${index + 1}${typeof jwk.kid === 'string' ? ` (kid ${jwk.kid})` : ''}`;
      const secret = PRIVATE_JWK_MEMBERS.filter((name) => name in jwk);
      if (secret.length > 0) {
        problems.push(
          `${where}: holds a private part (${secret.join(', ')}); a registry holds public keys only`,
        );
      }
      const thumbprint = jwkThumbprint(jwk);
      if (thumbprint && DEMO_KEY_THUMBPRINTS.has(thumbprint)) {
        const demo = `${where}: is a demo key, its private half committed under config/demo`;
        if (options.production) problems.push(`${demo}; production never applies it`);
        else if (!options.allowDemoKeys)
          problems.push(`${demo}; applied only with --allow-demo-keys (a demo or test database)`);
      }
    });
  }
  return problems;
}
