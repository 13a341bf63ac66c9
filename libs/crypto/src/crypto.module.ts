import { Global, Module } from '@nestjs/common';
import { AppConfig } from '#libs/config';
import { MasterKeyring } from './envelope.js';
import { PlatformSigner } from './platform-signer.js';

@Global()
@Module({
  providers: [
    {
      provide: MasterKeyring,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new MasterKeyring(config.masterKeys),
    },
    {
      provide: PlatformSigner,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new PlatformSigner(config.signingKeys),
    },
  ],
  exports: [MasterKeyring, PlatformSigner],
})
export class CryptoModule {}
