import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';

/** How a service names a citizen: the pairwise id its organisation was given. */
export class CitizenRefDto {
  @ApiProperty({ description: 'The pairwise id of the citizen for your organisation' })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{16,64}$/, { message: 'ppid must be a pairwise identifier' })
  ppid: string;
}
