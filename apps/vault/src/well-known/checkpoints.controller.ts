import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AccessLogCheckpoints } from '#libs/access-log';
import { Public } from '#libs/http';
import { SeqPageQueryDto } from '../seq-page-query.dto.js';

/** Rule 4's signed heads, public: anyone can keep them and later hold the platform to them. */
@Public()
@ApiTags('access log')
@Controller('v1/access-log/checkpoints')
export class CheckpointsController {
  constructor(private readonly checkpoints: AccessLogCheckpoints) {}

  /** Newest first, 20 a page by default; each `jws` verifies with /.well-known/jwks.json. */
  @Get()
  async list(@Query() query: SeqPageQueryDto) {
    const checkpoints = await this.checkpoints.list(query.limit ?? 20, query.before);
    const last = checkpoints.at(-1);
    return { checkpoints, nextBefore: last && last.seq > 1 ? last.seq : null };
  }
}
