import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AccessLogCheckpoints, AccessLogService } from '#libs/access-log';
import { DomainError } from '#libs/errors';
import type { Citizen } from '#libs/vault';
import { CurrentCitizen } from '../auth/citizen-auth.guard.js';
import { accessLogView } from './citizen-data.service.js';
import { SeqPageQueryDto } from '../seq-page-query.dto.js';

@ApiTags('access log')
@ApiBearerAuth()
@Controller('v1/me/access-log')
export class AccessLogController {
  constructor(
    private readonly accessLog: AccessLogService,
    private readonly checkpoints: AccessLogCheckpoints,
  ) {}

  /**
   * Who accessed what, when and why, newest first (50 a page by default).
   * `head` and `citizenId` (which each entry's hash covers) let the citizen
   * recompute the chain.
   */
  @Get()
  async list(@CurrentCitizen() citizen: Citizen, @Query() query: SeqPageQueryDto) {
    const page = await this.accessLog.page(citizen.id, query.limit ?? 50, query.before);
    return {
      citizenId: citizen.id,
      entries: page.entries.map(accessLogView),
      head: page.head,
      nextBefore: page.nextBefore,
    };
  }

  /**
   * Proof that the citizen's chain, up to `leaf.seq`, is in the latest signed
   * checkpoint that covers it: recompute the leaf from that entry's hash, the
   * root from the audit path, and check the checkpoint's JWS with
   * /.well-known/jwks.json.
   */
  @Get('proof')
  async proof(@CurrentCitizen() citizen: Citizen) {
    const proof = await this.checkpoints.proofFor(citizen.id);
    if (!proof)
      throw new DomainError(
        'not_checkpointed',
        'No signed checkpoint covers your access log yet; checkpoints are published periodically.',
      );
    return proof;
  }
}
