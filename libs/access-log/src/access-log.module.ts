import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessLogEntry } from './access-log-entry.entity.js';
import { AccessLogService } from './access-log.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([AccessLogEntry])],
  providers: [AccessLogService],
  exports: [AccessLogService],
})
export class AccessLogModule {}
