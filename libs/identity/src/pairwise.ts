import { createHmac } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '#libs/config';

/**
 * Rule 2: each organisation sees its own stable pseudonym of a citizen,
 * HMAC-SHA-256(secret, organisation ‖ citizen), so two organisations cannot
 * link their files by identifier.
 */
@Injectable()
export class PairwiseIds {
  constructor(private readonly config: AppConfig) {}

  of(organisationId: string, citizenId: string): string {
    return createHmac('sha256', this.config.pairwiseSecret)
      .update(`${organisationId}\u001f${citizenId}`)
      .digest('base64url');
  }
}
