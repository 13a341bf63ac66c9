import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsAttributeCodeList } from '#libs/catalogue';

/** The terms of a consent as a request body gives them: what, why, how, until when. */
export class ConsentTermsDto {
  @ApiProperty({ example: 'licence-renewal' })
  @IsString()
  @MaxLength(100)
  purpose: string;

  @IsAttributeCodeList(['address.residential'])
  attributes: string[];

  @ApiProperty({ enum: ['once', 'ongoing'] })
  @IsIn(['once', 'ongoing'])
  mode: 'once' | 'ongoing';

  @ApiPropertyOptional({ example: '2027-12-31T00:00:00Z', description: 'When the consent ends' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  expiresAt?: string;
}
