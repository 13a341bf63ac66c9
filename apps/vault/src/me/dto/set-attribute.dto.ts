import { ApiProperty } from '@nestjs/swagger';
import { IsDefined } from 'class-validator';

export class SetAttributeDto {
  /** Checked against the attribute's catalogue type by the service (e-mail, E.164 phone, address…). */
  @ApiProperty({ description: 'The value, as JSON: a string for most attributes, an object for an address' })
  @IsDefined()
  value: unknown;
}
