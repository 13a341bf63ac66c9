import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AccessLogModule } from '#libs/access-log';
import { CatalogueModule } from '#libs/catalogue';
import { ConfigModule } from '#libs/config';
import { ConsentModule } from '#libs/consent';
import { CryptoModule } from '#libs/crypto';
import { DatabaseModule } from '#libs/database';
import { ErasureModule } from '#libs/erasure';
import { IdentityModule } from '#libs/identity';
import { RemindersModule } from '#libs/reminders';
import { VaultModule } from '#libs/vault';

@Module({})
class DomainContextModule {}

/**
 * The domain services without any HTTP app around them, configured by `env`:
 * for commands that write citizens' data the way the apps do (demo seeding,
 * benchmark seeding, erasure replay). It reads the registry in force and
 * never applies REGISTRY_FILE.
 */
export function domainContext(env: Record<string, string | undefined>): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(
    {
      module: DomainContextModule,
      imports: [
        // The CLI applies registries through registry:apply only: erasure:replay on a restored database
        // must not write a registry version of REGISTRY_FILE as an app's boot would.
        ConfigModule.forRoot({ ...env, APPLY_REGISTRY_AT_BOOT: 'false' }),
        DatabaseModule.forMaintenance(),
        CryptoModule,
        CatalogueModule,
        IdentityModule,
        VaultModule,
        ConsentModule,
        AccessLogModule,
        ErasureModule,
        RemindersModule,
      ],
    },
    { logger: ['error'] },
  );
}
