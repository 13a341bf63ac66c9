import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CitizenTokenVerifier } from './citizen-token.verifier.js';
import { PairwiseId, PairwiseIds } from './pairwise.js';
import { ServiceAuthService } from './service-auth.service.js';

@Global()
@Module({
  imports: [TypeOrmModule.forFeature([PairwiseId])],
  providers: [CitizenTokenVerifier, PairwiseIds],
  exports: [CitizenTokenVerifier, PairwiseIds],
})
export class IdentityModule {}

/** Authentication of ministry services (the broker's side). */
@Module({ providers: [ServiceAuthService], exports: [ServiceAuthService] })
export class ServiceAuthModule {}
