import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '#libs/outbox';
import { ConsentRequest } from './consent-request.entity.js';
import { ConsentRequestsService } from './consent-requests.service.js';
import { Consent } from './consent.entity.js';
import { ConsentsService } from './consents.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([Consent, ConsentRequest]), OutboxModule],
  providers: [ConsentsService, ConsentRequestsService],
  exports: [ConsentsService, ConsentRequestsService],
})
export class ConsentModule {}
