import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { RegistryDocument } from './model.js';
import { loadRegistryFiles } from './registry-files.js';
import { DEMO_KEY_THUMBPRINTS, jwkThumbprint, registryKeyProblems } from './registry-keys.js';

const demoPrivateKeys = JSON.parse(readFileSync('config/demo/service-keys.json', 'utf8')) as Record<
  string,
  JWK
>;

function publicJwk(type: 'ec' | 'ed25519' | 'rsa'): Record<string, unknown> {
  const { privateKey } =
    type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519');
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest } = privateKey.export({ format: 'jwk' });
  return rest;
}

function registryWith(keys: Record<string, unknown>[]): RegistryDocument {
  return {
    organisations: [{ id: 'SAAQ', name: { fr: 'SAAQ', en: 'SAAQ' } }],
    services: [{ id: 'saaq-permis', organisation: 'SAAQ', jwks: { keys }, rights: [], deadlines: [] }],
    legal_bases: [],
  };
}

describe('DEMO_KEY_THUMBPRINTS', () => {
  it('are the RFC 7638 thumbprints of every key committed in config/demo/service-keys.json', async () => {
    const committed = await Promise.all(
      Object.values(demoPrivateKeys).map((jwk) => calculateJwkThumbprint(jwk, 'sha256')),
    );
    expect([...DEMO_KEY_THUMBPRINTS].sort()).toEqual(committed.sort());
  });
});

describe(jwkThumbprint.name, () => {
  it.each(['ec', 'ed25519', 'rsa'] as const)('agrees with jose for a %s key', async (type) => {
    const jwk = { ...publicJwk(type), kid: 'k', use: 'sig' };
    expect(jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk as JWK, 'sha256'));
  });

  it('gives the same thumbprint for the private and the public half', () => {
    const { d: _d, ...publicHalf } = demoPrivateKeys['saaq-permis'];
    expect(jwkThumbprint(publicHalf)).toBe(jwkThumbprint(demoPrivateKeys['saaq-permis']));
  });

  it('answers null for a key it cannot hash', () => {
    expect(jwkThumbprint({ kty: 'oct', k: 'c2VjcmV0' })).toBeNull();
    expect(jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'abc' })).toBeNull();
  });
});

describe(registryKeyProblems.name, () => {
  const { registry: demo } = loadRegistryFiles('config/registry.yaml', 'config/catalogue.yaml');

  it('refuses every demo service key in production, naming the service and the reason', () => {
    const problems = registryKeyProblems(demo, { production: true, allowDemoKeys: true });
    expect(problems).toHaveLength(Object.keys(demoPrivateKeys).length);
    expect(problems).toContain(
      'service saaq-permis, key 1 (kid saaq-permis-2026): is a demo key, its private half committed under config/demo; production never applies it',
    );
  });

  it('lets the demo registry through outside production only when allowed', () => {
    expect(registryKeyProblems(demo, { production: false, allowDemoKeys: true })).toEqual([]);
    const problems = registryKeyProblems(demo, { production: false, allowDemoKeys: false });
    expect(problems).toHaveLength(Object.keys(demoPrivateKeys).length);
    expect(problems).toContain(
      'service saaq-permis, key 1 (kid saaq-permis-2026): is a demo key, its private half committed under config/demo; applied only with --allow-demo-keys (a demo or test database)',
    );
  });

  it('refuses a private part, in production or not', () => {
    const { kid: _kid, ...withoutKid } = demoPrivateKeys['saaq-adresse'];
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
    for (const production of [false, true]) {
      const problems = registryKeyProblems(registryWith([publicJwk('ec'), { ...rsa, kid: 'r' }]), {
        production,
        allowDemoKeys: false,
      });
      expect(problems).toEqual([
        'service saaq-permis, key 2 (kid r): holds a private part (d, p, q, dp, dq, qi); a registry holds public keys only',
      ]);
    }
    // A demo key's private half: refused for the private part, whatever demo keys are allowed.
    expect(
      registryKeyProblems(registryWith([withoutKid]), { production: false, allowDemoKeys: true }),
    ).toEqual(['service saaq-permis, key 1: holds a private part (d); a registry holds public keys only']);
  });

  it('accepts public keys of the deployment’s own services in production', () => {
    expect(
      registryKeyProblems(registryWith([publicJwk('ec'), publicJwk('ed25519'), publicJwk('rsa')]), {
        production: true,
        allowDemoKeys: false,
      }),
    ).toEqual([]);
  });
});
