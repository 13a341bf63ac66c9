import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { CitizenRefDto, IsCitizenRef } from '../citizen-ref.dto.js';
import { IsAttributeCodeList } from '#libs/catalogue';

export class DataRequestDto {
  @IsCitizenRef()
  citizen: CitizenRefDto;

  @ApiProperty({ example: 'licence-renewal' })
  @IsString()
  @MaxLength(100)
  purpose: string;

  @IsAttributeCodeList(['address.residential', 'contact.email'])
  attributes: string[];
}
