import { Column, Entity, PrimaryColumn } from 'typeorm';

export type SourceKind = 'citizen' | 'organisation';

/** The current value of one attribute of one citizen, encrypted under the citizen's data key. */
@Entity('attribute_value')
export class AttributeValue {
  @PrimaryColumn('uuid', { name: 'citizen_id' }) citizenId: string;
  @PrimaryColumn('text') attribute: string;
  @Column('bytea') ciphertext: Buffer;
  @Column('text', { name: 'source_kind' }) sourceKind: SourceKind;
  @Column('text', { name: 'source_organisation_id', nullable: true }) sourceOrganisationId: string | null;
  /** `citizen` or the id of the service that wrote it. */
  @Column('text', { name: 'written_by' }) writtenBy: string;
  @Column('integer') revision: number;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
}

/** Every value an attribute has had, for rectification and the citizen's export. */
@Entity('attribute_history')
export class AttributeHistory {
  @PrimaryColumn('uuid', { name: 'citizen_id' }) citizenId: string;
  @PrimaryColumn('text') attribute: string;
  @PrimaryColumn('integer') revision: number;
  @Column('bytea') ciphertext: Buffer;
  @Column('text', { name: 'source_kind' }) sourceKind: SourceKind;
  @Column('text', { name: 'source_organisation_id', nullable: true }) sourceOrganisationId: string | null;
  @Column('text', { name: 'written_by' }) writtenBy: string;
  @Column('timestamptz', { name: 'written_at' }) writtenAt: Date;
}
