import { compactVerify, createRemoteJWKSet } from 'jose';
import { MasterKeyring, open, PlatformSigner } from '#libs/crypto';
import { AppConfig } from '#libs/config';
import { metricEventsPassSchema } from './support/metric-events.js';
import { startVault, type RunningVault } from './support/vault-app.js';

describe('Vault: a citizen’s journey', () => {
  let vault: RunningVault;
  let alice: { Authorization: string };

  beforeAll(async () => {
    vault = await startVault('journey');
    alice = await vault.auth('alice');
  });
  afterAll(() => vault.close());

  const storedCiphertexts = async (citizenId: string) =>
    vault.dataSource.query(
      `SELECT attribute, ciphertext FROM attribute_value WHERE citizen_id = $1
       UNION ALL SELECT attribute, ciphertext FROM attribute_history WHERE citizen_id = $1`,
      [citizenId],
    ) as Promise<{ attribute: string; ciphertext: Buffer }[]>;

  /** Tries every data key the database still holds, as someone with the master keys would. */
  const openWithAnyStoredKey = async (
    citizenId: string,
    attribute: string,
    ciphertext: Buffer,
  ): Promise<string | null> => {
    const keyring = new MasterKeyring(AppConfig.fromEnvironment(vault.env).masterKeys);
    const keys: {
      citizen_id: string;
      master_key_id: string;
      master_key_version: number;
      wrapped_key: Buffer;
    }[] = await vault.dataSource.query(
      'SELECT citizen_id, master_key_id, master_key_version, wrapped_key FROM citizen_key',
    );
    for (const key of keys) {
      try {
        const dataKey = keyring.unwrap(
          {
            masterKeyId: key.master_key_id,
            masterKeyVersion: key.master_key_version,
            wrapped: key.wrapped_key,
          },
          key.citizen_id,
        );
        return open(dataKey, ciphertext, `attribute|${citizenId}|${attribute}`).toString('utf8');
      } catch {
        // not this key
      }
    }
    return null;
  };

  it('sets an e-mail, grants, verifies the receipt, revokes, exports and erases', async () => {
    const first = await vault.http.get('/v1/me').set(alice).expect(200);
    expect(first.body).toEqual({ language: 'fr', attributes: [] });

    const email = await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(alice)
      .send({ value: '  Alice.Tremblay@Exemple.QC.CA ' })
      .expect(200);
    expect(email.body).toMatchObject({
      attribute: 'contact.email',
      value: 'Alice.Tremblay@exemple.qc.ca',
      source: 'citizen',
    });
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(alice)
      .send({ value: 'alice@exemple.ca' })
      .expect(200);

    const profile = await vault.http.get('/v1/me').set(alice).expect(200);
    expect(profile.body.attributes).toEqual([
      expect.objectContaining({ attribute: 'contact.email', value: 'alice@exemple.ca', source: 'citizen' }),
    ]);
    const history = await vault.http.get('/v1/me/attributes/history').set(alice).expect(200);
    expect(history.body.map((h: { value: string; revision: number }) => [h.revision, h.value])).toEqual([
      [1, 'Alice.Tremblay@exemple.qc.ca'],
      [2, 'alice@exemple.ca'],
    ]);

    const granted = await vault.http
      .post('/v1/me/consents')
      .set(alice)
      .send({
        service: 'saaq-permis',
        purpose: 'licence-renewal',
        attributes: ['contact.email', 'address.residential'],
        mode: 'ongoing',
        expiresAt: '2099-01-01T00:00:00Z',
      })
      .expect(201);
    expect(granted.body).toMatchObject({
      service: 'saaq-permis',
      organisation: 'SAAQ',
      status: 'active',
      mode: 'ongoing',
    });

    const receipt = await vault.http.get(`/v1/me/consents/${granted.body.id}/receipt`).set(alice).expect(200);
    expect(receipt.headers['content-type']).toMatch(/^application\/jose/);
    const jwks = createRemoteJWKSet(new URL(`${vault.url}/.well-known/jwks.json`));
    const { payload } = await compactVerify(receipt.text, jwks);
    const claims = JSON.parse(new TextDecoder().decode(payload));
    expect(claims).toMatchObject({
      consentReceiptID: granted.body.id,
      jurisdiction: 'CA-QC',
      language: 'fr',
      piiControllers: [expect.objectContaining({ organisationId: 'SAAQ' })],
      services: [expect.objectContaining({ serviceId: 'saaq-permis' })],
      status: 'active',
    });
    expect(claims.services[0].purposes[0]).toMatchObject({
      purposeId: 'licence-renewal',
      piiAttributes: ['contact.email', 'address.residential'],
    });
    const tampered = receipt.text.replace(/\.([^.]+)\./, (_m, p: string) => `.${p.slice(0, -2)}AA.`);
    await expect(compactVerify(tampered, jwks)).rejects.toThrow();

    const revoked = await vault.http.delete(`/v1/me/consents/${granted.body.id}`).set(alice).expect(200);
    expect(revoked.body).toMatchObject({ status: 'revoked' });
    const consents = await vault.http.get('/v1/me/consents').set(alice).expect(200);
    expect(consents.body).toEqual([expect.objectContaining({ id: granted.body.id, status: 'revoked' })]);
    // The grant and the revocation each wrote their metric event with them (rule 7), naming no citizen.
    const events: { type: string; data: object }[] = await vault.dataSource.query(
      `SELECT type, data FROM outbox_event WHERE topic = 'metric' AND type LIKE 'consent.%' ORDER BY occurred_at`,
    );
    const terms = {
      organisation: 'SAAQ',
      service: 'saaq-permis',
      purpose: 'licence-renewal',
      mode: 'ongoing',
    };
    expect(events).toEqual([
      { type: 'consent.granted', data: terms },
      { type: 'consent.revoked', data: terms },
    ]);
    expect(await metricEventsPassSchema(vault.dataSource, vault.app.get(PlatformSigner))).toEqual(
      expect.arrayContaining(['consent.granted', 'consent.revoked']),
    );

    const exported = await vault.http.get('/v1/me/export').set(alice).expect(200);
    expect(exported.body).toMatchObject({
      format: 'une-fois-export/1',
      attributes: [expect.objectContaining({ attribute: 'contact.email', value: 'alice@exemple.ca' })],
      consents: [expect.objectContaining({ id: granted.body.id, status: 'revoked' })],
      preferences: { language: 'fr' },
      accessLog: [],
    });
    expect(exported.body.attributeHistory).toHaveLength(2);
    const citizenId: string = exported.body.profile.id;

    // A backup taken before erasure: these ciphertexts open while the data key exists...
    const backup = await storedCiphertexts(citizenId);
    expect(backup).toHaveLength(3);
    for (const row of backup) {
      expect(await openWithAnyStoredKey(citizenId, row.attribute, row.ciphertext)).not.toBeNull();
    }

    const erased = await vault.http.delete('/v1/me').set(alice).expect(200);
    expect(erased.body.erased).toEqual(expect.arrayContaining(['attributes', 'dataKey']));

    // ...and no longer once it is destroyed, whatever key the database still holds.
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(await vault.auth('bob'))
      .send({ value: 'bob@exemple.ca' })
      .expect(200);
    for (const row of backup) {
      expect(await openWithAnyStoredKey(citizenId, row.attribute, row.ciphertext)).toBeNull();
    }
    expect(await storedCiphertexts(citizenId)).toEqual([]);

    // The same login starts afresh with an empty profile.
    const after = await vault.http.get('/v1/me').set(alice).expect(200);
    expect(after.body.attributes).toEqual([]);
    const afterExport = await vault.http.get('/v1/me/export').set(alice).expect(200);
    expect(afterExport.body.profile.id).not.toBe(citizenId);
    expect(afterExport.body.consents).toEqual([]);
  });

  it('keeps preferences and validates them', async () => {
    const bob = await vault.auth('bob-prefs');
    const defaults = await vault.http.get('/v1/me/preferences').set(bob).expect(200);
    expect(defaults.body).toEqual({
      language: 'fr',
      channels: { email: true, sms: false, portal: true },
      quietHours: { start: '21:00', end: '08:00' },
    });
    const wanted = {
      language: 'en',
      channels: { email: false, sms: true, portal: true },
      quietHours: { start: '22:30', end: '07:00' },
    };
    await vault.http.put('/v1/me/preferences').set(bob).send(wanted).expect(200, wanted);
    await vault.http.get('/v1/me/preferences').set(bob).expect(200, wanted);
    const bad = await vault.http
      .put('/v1/me/preferences')
      .set(bob)
      .send({ ...wanted, quietHours: { start: '25:00', end: '07:00' } })
      .expect(400);
    expect(bad.body.errors).toEqual([{ field: 'quietHours.start', message: 'start must be HH:MM' }]);
    const profile = await vault.http.get('/v1/me').set(bob).expect(200);
    expect(profile.body.language).toBe('en');
  });

  it('validates self-declared values by type', async () => {
    const carol = await vault.auth('carol');
    const phone = await vault.http
      .put('/v1/me/attributes/contact.phone')
      .set(carol)
      .send({ value: '+1 (514) 555-0199' })
      .expect(200);
    expect(phone.body.value).toBe('+15145550199');
    for (const value of ['514-555', 'not a phone', 15145550199, { n: 1 }]) {
      const response = await vault.http
        .put('/v1/me/attributes/contact.phone')
        .set(carol)
        .send({ value })
        .expect(400);
      expect(response.body).toMatchObject({
        code: 'invalid_attribute_value',
        errors: [expect.objectContaining({ field: 'value' })],
      });
    }
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(carol)
      .send({ value: 'no-at-sign' })
      .expect(400);
  });
});
