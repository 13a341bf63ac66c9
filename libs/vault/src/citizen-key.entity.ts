import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A citizen's data key, wrapped by a master key (rule 3). Deleting the row shreds every value of the citizen. */
@Entity('citizen_key')
export class CitizenKey {
  @PrimaryColumn('uuid', { name: 'citizen_id' }) citizenId: string;
  @Column('text', { name: 'master_key_id' }) masterKeyId: string;
  @Column('integer', { name: 'master_key_version' }) masterKeyVersion: number;
  @Column('bytea', { name: 'wrapped_key' }) wrappedKey: Buffer;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'rotated_at', nullable: true }) rotatedAt: Date | null;
}
