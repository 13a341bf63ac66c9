import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  IsUrl,
  MaxLength,
  ValidateNested,
  IsObject,
} from 'class-validator';
import { CitizenRefDto } from '../citizen-ref.dto.js';
import { IsAttributeCodeList } from '#libs/http';

export class CreateConsentRequestDto {
  @ApiProperty({ example: 'licence-renewal' })
  @IsString()
  @MaxLength(100)
  purpose: string;

  @IsAttributeCodeList(['address.residential'])
  attributes: string[];

  @ApiProperty({ enum: ['once', 'ongoing'] })
  @IsIn(['once', 'ongoing'])
  mode: 'once' | 'ongoing';

  @ApiPropertyOptional({ description: 'When the consent, once given, ends' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  expiresAt?: string;

  @ApiPropertyOptional({ description: 'Receives a signed consent-request.approved or .denied event' })
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  @MaxLength(2000)
  callbackUrl?: string;

  @ApiPropertyOptional({
    type: CitizenRefDto,
    description: 'Address the request to a citizen you already know',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => CitizenRefDto)
  citizen?: CitizenRefDto;
}
