import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsDefined, IsIn, IsObject, Matches, ValidateNested } from 'class-validator';

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;

export class ChannelsDto {
  @ApiProperty() @IsBoolean() email: boolean;
  @ApiProperty() @IsBoolean() sms: boolean;
  @ApiProperty() @IsBoolean() portal: boolean;
}

export class QuietHoursDto {
  @ApiProperty({ example: '21:00', description: 'America/Montreal local time' })
  @Matches(HH_MM, { message: 'start must be HH:MM' })
  start: string;

  @ApiProperty({ example: '08:00' })
  @Matches(HH_MM, { message: 'end must be HH:MM' })
  end: string;
}

export class PreferencesDto {
  @ApiProperty({ enum: ['fr', 'en'] })
  @IsIn(['fr', 'en'])
  language: 'fr' | 'en';

  @ApiProperty({ type: ChannelsDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ChannelsDto)
  channels: ChannelsDto;

  @ApiProperty({ type: QuietHoursDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => QuietHoursDto)
  quietHours: QuietHoursDto;
}
