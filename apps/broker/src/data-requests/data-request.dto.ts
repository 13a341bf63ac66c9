import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsDefined, IsString, MaxLength, ValidateNested, IsObject } from 'class-validator';
import { CitizenRefDto } from '../citizen-ref.dto.js';

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

  @ApiProperty({ example: ['address.residential', 'contact.email'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  attributes: string[];
}
