import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsObject, IsString, Matches, ValidateNested } from 'class-validator';

/** How a service names a citizen: the pairwise id its organisation was given. */
export class CitizenRefDto {
  @ApiProperty({ description: 'The pairwise id of the citizen for your organisation' })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{16,64}$/, { message: 'ppid must be a pairwise identifier' })
  ppid: string;
}

/** A required `citizen: {ppid}` body field. */
export function IsCitizenRef(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ type: CitizenRefDto }),
    IsDefined(),
    IsObject(),
    ValidateNested(),
    Type(() => CitizenRefDto),
  );
}
