import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsIn, IsISO8601, IsOptional, IsString, MaxLength } from 'class-validator';

export class GrantConsentDto {
  @ApiProperty({ example: 'saaq-permis' })
  @IsString()
  @MaxLength(100)
  service: string;

  @ApiProperty({ example: 'licence-renewal' })
  @IsString()
  @MaxLength(100)
  purpose: string;

  @ApiProperty({ example: ['address.residential'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  attributes: string[];

  @ApiProperty({ enum: ['once', 'ongoing'] })
  @IsIn(['once', 'ongoing'])
  mode: 'once' | 'ongoing';

  @ApiPropertyOptional({ example: '2027-12-31T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  expiresAt?: string;
}
