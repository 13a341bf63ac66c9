import { loadRegistryFiles } from './registry-files.js';
import { RegistrySnapshot } from './registry-snapshot.js';

function realSnapshot(version = 1): RegistrySnapshot {
  const { registry, catalogue } = loadRegistryFiles('config/registry.yaml', 'config/catalogue.yaml');
  return new RegistrySnapshot(version, registry, catalogue);
}

describe(RegistrySnapshot.name, () => {
  const snapshot = realSnapshot(7);

  it('keeps its version and finds entries by code', () => {
    expect(snapshot.version).toBe(7);
    expect(snapshot.attribute('address.residential')?.type).toBe('postal-address');
    expect(snapshot.purpose('tax-credit')?.legalCategory).toBe('eligibility-check');
    expect(snapshot.deadlineKind('licence-renewal')?.offsetsDays).toEqual([30, 7, 1]);
    expect(snapshot.organisation('SAAQ')?.name.fr).toBe("Société de l'assurance automobile du Québec");
    expect(snapshot.service('rq-credits')?.organisation).toBe('RQ');
    expect(snapshot.registry.services.map((s) => s.id)).toContain('mess-aide');
  });

  it('answers undefined for codes it does not know', () => {
    expect(snapshot.attribute('contact.fax')).toBeUndefined();
    expect(snapshot.purpose('marketing')).toBeUndefined();
    expect(snapshot.deadlineKind('passport-renewal')).toBeUndefined();
    expect(snapshot.organisation('MTQ')).toBeUndefined();
    expect(snapshot.service('mtq-vignette')).toBeUndefined();
  });

  it('names the deadline kind an expiring attribute creates', () => {
    expect(snapshot.expiringDeadlineKind('health.card_expiry')?.code).toBe('health-card-renewal');
    expect(snapshot.expiringDeadlineKind('licence.driver_expiry')?.label.en).toBe('Driver’s licence renewal');
    expect(snapshot.expiringDeadlineKind('identity.birthdate')).toBeUndefined();
    expect(snapshot.expiringDeadlineKind('contact.fax')).toBeUndefined();
  });

  describe('canRead', () => {
    it('allows a read right only for the purposes it names', () => {
      expect(snapshot.canRead('saaq-permis', 'address.residential', 'licence-renewal')).toBe(true);
      expect(snapshot.canRead('saaq-permis', 'address.residential', 'tax-credit')).toBe(false);
      expect(snapshot.canRead('saaq-permis', 'address.residential', 'change-of-address')).toBe(false);
    });

    it('allows each purpose of a right that names several', () => {
      expect(snapshot.canRead('mess-aide', 'address.residential', 'benefit-application')).toBe(true);
      expect(snapshot.canRead('mess-aide', 'address.residential', 'change-of-address')).toBe(true);
      expect(snapshot.canRead('mess-aide', 'address.residential', 'tax-credit')).toBe(false);
    });

    it('does not let one service use the right of another service of the same organisation', () => {
      expect(snapshot.canRead('saaq-adresse', 'address.residential', 'change-of-address')).toBe(true);
      expect(snapshot.canRead('saaq-permis', 'address.residential', 'change-of-address')).toBe(false);
      expect(snapshot.canRead('saaq-adresse', 'identity.birthdate', 'licence-renewal')).toBe(false);
    });

    it('refuses an attribute the service has no right on', () => {
      expect(snapshot.canRead('saaq-permis', 'health.insurance_number', 'licence-renewal')).toBe(false);
    });

    it('does not turn a write right into a read right', () => {
      expect(snapshot.canRead('saaq-permis', 'licence.driver_number', 'licence-renewal')).toBe(false);
      expect(snapshot.canRead('dec-registre', 'identity.birthdate', 'benefit-application')).toBe(false);
    });

    it('refuses unknown services, attributes and purposes', () => {
      expect(snapshot.canRead('nobody', 'address.residential', 'licence-renewal')).toBe(false);
      expect(snapshot.canRead('saaq-permis', 'contact.fax', 'licence-renewal')).toBe(false);
      expect(snapshot.canRead('saaq-permis', 'address.residential', 'marketing')).toBe(false);
    });
  });

  describe('writeRefusal', () => {
    it('allows the official source to write its attributes', () => {
      expect(snapshot.writeRefusal('dec-registre', 'identity.birthdate')).toBeUndefined();
      expect(snapshot.writeRefusal('saaq-permis', 'licence.driver_number')).toBeUndefined();
      expect(snapshot.writeRefusal('saaq-adresse', 'address.residential')).toBeUndefined();
    });

    it('does not turn a read right into a write right', () => {
      expect(snapshot.writeRefusal('saaq-permis', 'address.residential')).toBe(
        'saaq-permis has no write right on address.residential.',
      );
      expect(snapshot.writeRefusal('rq-credits', 'banking.direct_deposit')).toBe(
        'rq-credits has no write right on banking.direct_deposit.',
      );
    });

    it('refuses a service that has no right at all on the attribute', () => {
      expect(snapshot.writeRefusal('dec-registre', 'licence.driver_number')).toBe(
        'dec-registre has no write right on licence.driver_number.',
      );
      expect(snapshot.writeRefusal('nobody', 'identity.birthdate')).toBe(
        'nobody has no write right on identity.birthdate.',
      );
    });

    describe('when the registry grants more than the catalogue allows', () => {
      // Built past the file checks, as an older registry version in the database could be.
      const { registry, catalogue } = loadRegistryFiles('config/registry.yaml', 'config/catalogue.yaml');
      const granting = new RegistrySnapshot(
        8,
        {
          ...registry,
          services: registry.services.map((service) =>
            service.id === 'saaq-permis'
              ? {
                  ...service,
                  rights: [
                    ...service.rights,
                    ...['health.card_expiry', 'contact.email', 'contact.phone'].map((attribute) => ({
                      attribute,
                      access: 'write' as const,
                      purposes: [],
                    })),
                  ],
                }
              : service,
          ),
        },
        catalogue,
      );

      it.each([
        [
          'health.card_expiry',
          'The catalogue names RAMQ, not SAAQ, as the official source of health.card_expiry.',
        ],
        ['contact.email', 'contact.email is declared by the citizen; no service writes it.'],
        ['contact.phone', 'contact.phone is declared by the citizen; no service writes it.'],
      ])('refuses %s, saying why', (attribute, why) => {
        expect(granting.writeRefusal('saaq-permis', attribute)).toBe(why);
      });

      it('still lets the service write what its organisation is the source of', () => {
        expect(granting.writeRefusal('saaq-permis', 'licence.driver_expiry')).toBeUndefined();
      });
    });
  });

  describe('legalBasis', () => {
    it('finds the declared basis for its service, attribute and purpose', () => {
      expect(snapshot.legalBasis('rq-credits', 'address.residential', 'tax-credit')).toEqual({
        id: 'rq-income-check',
        reference: 'RLRQ, c. A-6.002, art. 69.1',
        service: 'rq-credits',
        attributes: ['address.residential'],
        purposes: ['tax-credit'],
      });
    });

    it('finds nothing for another attribute, purpose or service', () => {
      expect(snapshot.legalBasis('rq-credits', 'civil.marital_status', 'tax-credit')).toBeUndefined();
      expect(snapshot.legalBasis('rq-credits', 'address.residential', 'benefit-application')).toBeUndefined();
      expect(snapshot.legalBasis('rq-depot', 'address.residential', 'tax-credit')).toBeUndefined();
      expect(snapshot.legalBasis('saaq-permis', 'address.residential', 'licence-renewal')).toBeUndefined();
    });
  });
});
