import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessLogEntry } from './access-log-entry.entity.js';
import { AccessLogService } from './access-log.service.js';
import { AccessLogCheckpoints } from './checkpoints.js';

@Module({
  imports: [TypeOrmModule.forFeature([AccessLogEntry])],
  providers: [AccessLogService, AccessLogCheckpoints],
  exports: [AccessLogService, AccessLogCheckpoints],
})
export class AccessLogModule {}
