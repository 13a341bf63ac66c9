import { Module } from '@nestjs/common';
import { ConsentModule } from '#libs/consent';
import { VaultModule } from '#libs/vault';
import { ErasureService } from './erasure.service.js';

@Module({
  imports: [VaultModule, ConsentModule],
  providers: [ErasureService],
  exports: [ErasureService],
})
export class ErasureModule {}
