import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsString, MaxLength, ValidateNested, IsObject } from 'class-validator';
import { CitizenRefDto } from '../citizen-ref.dto.js';
import { IsAttributeCodeList } from '#libs/http';

export class DataRequestDto {
  @ApiProperty({ type: CitizenRefDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => CitizenRefDto)
  citizen: CitizenRefDto;

  @ApiProperty({ example: 'licence-renewal' })
  @IsString()
  @MaxLength(100)
  purpose: string;

  @IsAttributeCodeList(['address.residential', 'contact.email'])
  attributes: string[];
}
