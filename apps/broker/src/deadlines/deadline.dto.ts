import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsIn,
  IsISO8601,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import type { Deadline } from '#libs/reminders';
import { CitizenRefDto, IsCitizenRef } from '../citizen-ref.dto.js';

/** An ISO 8601 date-time with its offset (or Z): a due time means nothing without one. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const DATE_TIME_MESSAGE =
  'dueAt must be an ISO 8601 date-time with an offset, e.g. 2027-03-20T10:00:00-04:00';

function IsDueAt(): PropertyDecorator {
  return (target, key) => {
    IsString()(target, key);
    Matches(DATE_TIME, { message: DATE_TIME_MESSAGE })(target, key);
    IsISO8601({ strict: true, strictSeparator: true }, { message: DATE_TIME_MESSAGE })(target, key);
  };
}

export class DeadlineTitleDto {
  @ApiProperty({ maxLength: 200 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  fr: string;

  @ApiPropertyOptional({ maxLength: 200, description: 'The French title is shown when absent' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  en?: string;
}

export class CreateDeadlineDto {
  @IsCitizenRef()
  citizen: CitizenRefDto;

  @ApiProperty({ example: 'licence-renewal', description: 'A deadline kind your registry entry lists' })
  @IsString()
  @MaxLength(100)
  kind: string;

  @ApiProperty({ example: '2027-03-20T10:00:00-04:00' })
  @IsDueAt()
  dueAt: string;

  @ApiProperty({ type: DeadlineTitleDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => DeadlineTitleDto)
  title: DeadlineTitleDto;

  @ApiPropertyOptional({ description: 'Where the citizen acts (https in production)' })
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  @MaxLength(2000)
  actionUrl?: string;

  @ApiPropertyOptional({ description: 'Your reference: registering it again is the same deadline' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  externalRef?: string;
}

/** Exactly one of status (close it) or dueAt (move it); null is neither. */
export class UpdateDeadlineDto {
  @ApiPropertyOptional({ enum: ['completed', 'cancelled'] })
  @ValidateIf((dto: UpdateDeadlineDto) => dto.status !== undefined)
  @IsDefined({ message: 'status must be "completed" or "cancelled", not null' })
  @IsIn(['completed', 'cancelled'])
  status?: 'completed' | 'cancelled';

  @ApiPropertyOptional({ example: '2027-04-20T10:00:00-04:00' })
  @ValidateIf((dto: UpdateDeadlineDto) => dto.dueAt !== undefined)
  @IsDefined({ message: 'dueAt must be a date-time, not null' })
  @IsDueAt()
  dueAt?: string;
}

/** What a service sees of its deadline: no citizen id, and nothing of the citizen's reminders or channels. */
export function deadlineForService(deadline: Deadline) {
  return {
    id: deadline.id,
    kind: deadline.kind,
    status: deadline.status,
    dueAt: deadline.dueAt.toISOString(),
    title: deadline.title,
    actionUrl: deadline.actionUrl,
    externalRef: deadline.externalRef,
    closedAt: deadline.closedAt?.toISOString() ?? null,
  };
}
