import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsAttributeCodeList } from '#libs/http';

export class GrantConsentDto {
  @ApiProperty({ example: 'saaq-permis' })
  @IsString()
  @MaxLength(100)
  service: string;

  @ApiProperty({ example: 'licence-renewal' })
  @IsString()
  @MaxLength(100)
  purpose: string;

  @IsAttributeCodeList(['address.residential'])
  attributes: string[];

  @ApiProperty({ enum: ['once', 'ongoing'] })
  @IsIn(['once', 'ongoing'])
  mode: 'once' | 'ongoing';

  @ApiPropertyOptional({ example: '2027-12-31T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  expiresAt?: string;
}
