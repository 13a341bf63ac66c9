import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, IsOptional, IsUrl, MaxLength, ValidateNested } from 'class-validator';
import { ConsentTermsDto } from '#libs/consent';
import { CitizenRefDto } from '../citizen-ref.dto.js';

export class CreateConsentRequestDto extends ConsentTermsDto {
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
