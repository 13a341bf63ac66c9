import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { ConsentTermsDto } from '#libs/consent';

export class GrantConsentDto extends ConsentTermsDto {
  @ApiProperty({ example: 'saaq-permis' })
  @IsString()
  @MaxLength(100)
  service: string;
}
