import { Module } from '@nestjs/common';
import { ConsentModule } from '#libs/consent';
import { VaultModule } from '#libs/vault';
import { ReleaseService } from './release.service.js';
import { ReleaseStore } from './release.store.js';

/** Rule 1 and the release of values to services: the decision, its store, the use case. */
@Module({
  imports: [VaultModule, ConsentModule],
  providers: [ReleaseService, ReleaseStore],
  exports: [ReleaseService],
})
export class ReleaseModule {}
