import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, In } from 'typeorm';
import { checkAttributeValue, type JsonValue, type Label, RegistryService } from '#libs/catalogue';
import { Batcher, preparedQuery } from '#libs/database';
import { DomainError } from '#libs/errors';
import { AttributeHistory, AttributeValue, type SourceKind } from './attribute-value.entity.js';
import { decryptAttribute as decrypt, encryptAttribute as encrypt } from './attribute-crypto.js';
import type { CitizenKey } from './citizen-key.entity.js';
import { DataKeysService } from './data-keys.service.js';

/**
 * The OpenID Connect standard claims of a citizen's identity that the
 * citizen issuer vouches for, and the catalogue attribute each becomes.
 */
export const IDENTITY_CLAIMS = {
  given_name: 'identity.given_name',
  family_name: 'identity.family_name',
  birthdate: 'identity.birthdate',
} as const;

/** `written_by` of the values a citizen's identity claims wrote at their first sign-in. */
export const CITIZEN_ISSUER_WRITER = 'citizen-issuer';

/** Who wrote a value: the citizen (self-declared) or a service of an authoritative organisation. */
export type Writer =
  { kind: 'citizen' } | { kind: 'organisation'; organisationId: string; serviceId: string };

export interface HeldValue {
  attribute: string;
  value: JsonValue;
  /** `citizen` for self-declared data, else the authoritative organisation's id. */
  source: string;
  updatedAt: string;
}

export interface HistoricValue extends HeldValue {
  revision: number;
  writtenBy: string;
}

export interface SourceDescription {
  source: string;
  sourceName: Label;
}

/** A citizen's values, still sealed, each with the data key they open with (NULL where it is missing). */
const HELD_VALUES = `SELECT v.attribute, v.ciphertext, v.source_kind, v.source_organisation_id, v.updated_at,
         k.master_key_id, k.master_key_version, k.wrapped_key
    FROM attribute_value v LEFT JOIN citizen_key k ON k.citizen_id = v.citizen_id
   WHERE v.citizen_id = $1 ORDER BY v.attribute`;

/**
 * The citizens issuers know by these subjects (`$1` the issuers, `$2` the
 * subjects) and their values, still sealed. Each row has `n`, the 1-based
 * place of its subject in the arrays. A subject seen before has first a row
 * of the citizen (id, language and data key; no attribute), then one row per
 * value; a subject not seen yet has no row. The key is not repeated on each
 * value's row: the driver would parse it a dozen times per citizen.
 */
const HELD_VALUES_BY_SUBJECTS = `WITH s AS MATERIALIZED (
    SELECT s.n::int AS n, c.id, c.language
      FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS s (issuer, subject, n)
      JOIN citizen c ON c.issuer = s.issuer AND c.subject = s.subject)
  SELECT s.n, NULL AS id, NULL AS language, v.attribute, v.ciphertext, v.source_kind,
         v.source_organisation_id, v.updated_at, NULL AS master_key_id, NULL AS master_key_version,
         NULL AS wrapped_key
    FROM s JOIN attribute_value v ON v.citizen_id = s.id
  UNION ALL
  SELECT s.n, s.id, s.language, NULL, NULL, NULL, NULL, NULL, k.master_key_id, k.master_key_version, k.wrapped_key
    FROM s LEFT JOIN citizen_key k ON k.citizen_id = s.id
   ORDER BY n, attribute NULLS FIRST`;

/** A row of HELD_VALUES_BY_SUBJECTS: a citizen's (id, language, key) or a value's. */
type SubjectRow = SealedHeldValue & { n: number; id: string; language: 'fr' | 'en' };

/** The wrapped data key as a row carries it (NULL where the citizen has none). */
interface KeyColumns {
  master_key_id: string | null;
  master_key_version: number;
  wrapped_key: Buffer;
}

interface SealedHeldValue extends KeyColumns {
  attribute: string;
  ciphertext: Buffer;
  source_kind: SourceKind;
  source_organisation_id: string | null;
  updated_at: Date;
}

/** What the profile shows of a citizen: their language and every value held, opened. */
export interface HeldProfile {
  citizenId: string;
  language: 'fr' | 'en';
  held: HeldValue[];
}

/** These attributes' values of these citizens, still sealed, each with its citizen's data key. */
const VALUES_OF_MANY = `SELECT v.citizen_id AS "citizenId", v.attribute, v.ciphertext, k.master_key_id AS "masterKeyId",
         k.master_key_version AS "masterKeyVersion", k.wrapped_key AS "wrappedKey"
    FROM attribute_value v LEFT JOIN citizen_key k ON k.citizen_id = v.citizen_id
   WHERE v.citizen_id = ANY ($1::uuid[]) AND v.attribute = ANY ($2::text[])`;

const CITIZEN_SOURCE: Label = { fr: 'Vous-même (déclaré par le citoyen)', en: 'Yourself (self-declared)' };

/** Encrypted attribute values with their provenance and full history (rule 3). */
@Injectable()
export class AttributesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly dataKeys: DataKeysService,
    private readonly registry: RegistryService,
  ) {}

  private readonly bySubject = new Batcher((subjects: { issuer: string; subject: string }[]) =>
    this.readBySubjects(subjects),
  );

  /** Every value held of the citizen, opened, by attribute code: one named statement reads them with the data key. */
  async list(citizenId: string, em: EntityManager = this.dataSource.manager): Promise<HeldValue[]> {
    const rows = await preparedQuery<SealedHeldValue>(em, 'held-values', HELD_VALUES, [citizenId]);
    return this.open(citizenId, rows[0], rows);
  }

  /**
   * list() of the citizen an issuer knows by `subject`, found in the same
   * statement, or null for a subject not seen yet. The lookups of requests
   * that arrive in the same turn of the event loop are one statement
   * (Batcher): a citizen's profile page costs a fraction of a round trip to
   * PostgreSQL. The values are opened for each caller apart.
   */
  async listBySubject(issuer: string, subject: string): Promise<HeldProfile | null> {
    const [citizen, ...values] = await this.bySubject.submit({ issuer, subject });
    if (!citizen) return null;
    return {
      citizenId: citizen.id,
      language: citizen.language,
      held: this.open(citizen.id, citizen, values),
    };
  }

  /** The rows of each subject, in the order asked (HELD_VALUES_BY_SUBJECTS). */
  private async readBySubjects(subjects: { issuer: string; subject: string }[]): Promise<SubjectRow[][]> {
    const rows = await preparedQuery<SubjectRow>(
      this.dataSource,
      'held-values-by-subjects',
      HELD_VALUES_BY_SUBJECTS,
      [subjects.map((s) => s.issuer), subjects.map((s) => s.subject)],
    );
    const bySubject = subjects.map((): SubjectRow[] => []);
    for (const row of rows) bySubject[row.n - 1].push(row);
    return bySubject;
  }

  /** Sealed values of one citizen opened with their data key, as `key`'s row carries it. */
  private open(citizenId: string, key: KeyColumns, rows: SealedHeldValue[]): HeldValue[] {
    if (rows.length === 0) return [];
    const { master_key_id: masterKeyId, master_key_version: masterKeyVersion, wrapped_key: wrappedKey } = key;
    if (!masterKeyId) throw new Error(`Citizen ${citizenId} has values but no data key`);
    const dataKey = this.dataKeys.unwrap({ citizenId, masterKeyId, masterKeyVersion, wrappedKey });
    return rows.map((row) => ({
      attribute: row.attribute,
      value: decrypt(dataKey, row.ciphertext, citizenId, row.attribute),
      source: sourceOf(row.source_kind, row.source_organisation_id),
      updatedAt: row.updated_at.toISOString(),
    }));
  }

  /** The values held of these attributes only, opened; the others are not read. */
  async values(
    citizenId: string,
    codes: string[],
    em: EntityManager = this.dataSource.manager,
  ): Promise<Map<string, JsonValue>> {
    const rows = await em.find(AttributeValue, { where: { citizenId, attribute: In(codes) } });
    if (rows.length === 0) return new Map();
    const key = await this.requireKey(em, citizenId);
    return new Map(
      rows.map((row) => [row.attribute, decrypt(key, row.ciphertext, citizenId, row.attribute)]),
    );
  }

  /**
   * The values held of these attributes for each of these citizens, opened,
   * in one statement for them all (a batch of reminders reads its citizens'
   * contact details at once); a citizen with none of them is absent.
   */
  async valuesOfMany(citizenIds: string[], codes: string[]): Promise<Map<string, Map<string, JsonValue>>> {
    const rows: (Pick<CitizenKey, 'masterKeyId' | 'masterKeyVersion' | 'wrappedKey'> & {
      citizenId: string;
      attribute: string;
      ciphertext: Buffer;
    })[] = await preparedQuery(this.dataSource, 'values-of-many', VALUES_OF_MANY, [citizenIds, codes]);
    const keys = new Map<string, Buffer>();
    const values = new Map<string, Map<string, JsonValue>>();
    for (const row of rows) {
      const { citizenId } = row;
      if (!row.wrappedKey) throw new Error(`Citizen ${citizenId} has values but no data key`);
      let key = keys.get(citizenId);
      if (!key) keys.set(citizenId, (key = this.dataKeys.unwrap(row)));
      let held = values.get(citizenId);
      if (!held) values.set(citizenId, (held = new Map()));
      held.set(row.attribute, decrypt(key, row.ciphertext, citizenId, row.attribute));
    }
    return values;
  }

  /** Which of these attributes the vault holds a value of, without opening any. */
  async heldCodes(em: EntityManager, citizenId: string, codes: string[]): Promise<Set<string>> {
    const rows: { attribute: string }[] = await em.query(
      `SELECT attribute FROM attribute_value WHERE citizen_id = $1 AND attribute = ANY ($2)`,
      [citizenId, codes],
    );
    return new Set(rows.map((row) => row.attribute));
  }

  async history(citizenId: string, em: EntityManager = this.dataSource.manager): Promise<HistoricValue[]> {
    const rows = await em.find(AttributeHistory, {
      where: { citizenId },
      order: { attribute: 'ASC', revision: 'ASC' },
    });
    if (rows.length === 0) return [];
    const key = await this.requireKey(em, citizenId);
    return rows.map((row) => ({
      attribute: row.attribute,
      revision: row.revision,
      value: decrypt(key, row.ciphertext, citizenId, row.attribute),
      source: sourceOf(row.sourceKind, row.sourceOrganisationId),
      writtenBy: row.writtenBy,
      updatedAt: row.writtenAt.toISOString(),
    }));
  }

  /** A value the citizen may declare themself (the catalogue marks it self-declarable), checked and normalised. */
  checkDeclarable(attribute: string, raw: unknown): JsonValue {
    const definition = this.registry.current().attribute(attribute);
    if (!definition)
      throw new DomainError('unknown_attribute', `No attribute "${attribute}" in the catalogue.`);
    if (!definition.selfDeclarable) {
      throw new DomainError(
        'attribute_not_self_declarable',
        `"${attribute}" comes from its official source and cannot be declared by the citizen.`,
      );
    }
    const checked = checkAttributeValue(definition, raw);
    if (!checked.ok)
      throw new DomainError('invalid_attribute_value', `Invalid value for "${attribute}".`, checked.errors);
    return checked.value;
  }

  /**
   * Writes a validated value and appends it to the history, in the caller's
   * transaction. The revision comes from the row itself, so concurrent
   * writers serialise on it. The citizen's lock against an erasure is taken
   * by findOrCreate, first, and held until the caller commits: no value is
   * written for an erased citizen, nor after an erasure began.
   */
  async write(
    em: EntityManager,
    citizenId: string,
    attribute: string,
    value: JsonValue,
    writer: Writer,
  ): Promise<HeldValue> {
    const key = await this.dataKeys.findOrCreate(em, citizenId);
    const ciphertext = encrypt(key, value, citizenId, attribute);
    const sourceKind: SourceKind = writer.kind;
    const sourceOrganisationId = writer.kind === 'organisation' ? writer.organisationId : null;
    const writtenBy = writer.kind === 'organisation' ? writer.serviceId : 'citizen';
    const [row]: { revision: number; updated_at: Date }[] = await em.query(
      `INSERT INTO attribute_value
         (citizen_id, attribute, ciphertext, source_kind, source_organisation_id, written_by, revision, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, 1, now())
       ON CONFLICT (citizen_id, attribute) DO UPDATE
         SET ciphertext = EXCLUDED.ciphertext, source_kind = EXCLUDED.source_kind,
             source_organisation_id = EXCLUDED.source_organisation_id, written_by = EXCLUDED.written_by,
             revision = attribute_value.revision + 1, updated_at = now()
       RETURNING revision, updated_at`,
      [citizenId, attribute, ciphertext, sourceKind, sourceOrganisationId, writtenBy],
    );
    await em.insert(AttributeHistory, {
      citizenId,
      attribute,
      revision: row.revision,
      ciphertext,
      sourceKind,
      sourceOrganisationId,
      writtenBy,
      writtenAt: row.updated_at,
    });
    return {
      attribute,
      value,
      source: sourceOf(sourceKind, sourceOrganisationId),
      updatedAt: row.updated_at.toISOString(),
    };
  }

  /**
   * A new citizen's first values: the identity claims of the token they
   * first signed in with, vouched for by the citizen issuer, recorded as
   * coming from each attribute's authority (the issuer checked them against
   * it). A claim the catalogue has no authority for, or whose value does not
   * pass the attribute's check, is left out. The attributes written.
   */
  async writeIdentityClaims(
    em: EntityManager,
    citizenId: string,
    claims: Record<string, unknown>,
  ): Promise<string[]> {
    const written: string[] = [];
    for (const [claim, attribute] of Object.entries(IDENTITY_CLAIMS)) {
      const definition = this.registry.current().attribute(attribute);
      if (claims[claim] === undefined || !definition?.authority) continue;
      const checked = checkAttributeValue(definition, claims[claim]);
      if (!checked.ok) continue;
      await this.write(em, citizenId, attribute, checked.value, {
        kind: 'organisation',
        organisationId: definition.authority,
        serviceId: CITIZEN_ISSUER_WRITER,
      });
      written.push(attribute);
    }
    return written;
  }

  /** Removes every value and its history (erasure). The data key goes separately. */
  async deleteAll(em: EntityManager, citizenId: string): Promise<void> {
    await em.delete(AttributeHistory, { citizenId });
    await em.delete(AttributeValue, { citizenId });
  }

  describeSource(source: string): SourceDescription {
    const organisation = source === 'citizen' ? undefined : this.registry.current().organisation(source);
    return { source, sourceName: organisation?.name ?? CITIZEN_SOURCE };
  }

  private async requireKey(em: EntityManager, citizenId: string): Promise<Buffer> {
    const key = await this.dataKeys.find(em, citizenId);
    if (!key) throw new Error(`Citizen ${citizenId} has values but no data key`);
    return key;
  }
}

/** `citizen` for self-declared data, else the authoritative organisation's id. */
export function sourceOf(kind: SourceKind | string, organisationId: string | null): string {
  return kind === 'citizen' ? 'citizen' : (organisationId ?? 'unknown');
}
