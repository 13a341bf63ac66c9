import { Global, Module } from '@nestjs/common';
import { CitizenTokenVerifier } from './citizen-token.verifier.js';
import { PairwiseIds } from './pairwise.js';

@Global()
@Module({ providers: [CitizenTokenVerifier, PairwiseIds], exports: [CitizenTokenVerifier, PairwiseIds] })
export class IdentityModule {}
