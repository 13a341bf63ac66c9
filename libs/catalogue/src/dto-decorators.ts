import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsString, MaxLength } from 'class-validator';

/** A body field listing catalogue attribute codes: 1 to 50 strings (the catalogue checks the codes themselves). */
export function IsAttributeCodeList(example: string[] = ['address.residential']): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ example, type: [String] }),
    IsArray(),
    ArrayNotEmpty(),
    ArrayMaxSize(50),
    IsString({ each: true }),
    MaxLength(100, { each: true }),
  );
}
