import { createHash } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '#libs/config';
import type { CatalogueDocument, RegistryDocument } from './model.js';
import { loadRegistryFiles } from './registry-files.js';
import { RegistryRefusedError, type RegistryKeyOptions, registryKeyProblems } from './registry-keys.js';
import { RegistrySnapshot } from './registry-snapshot.js';

/** Serialises registry applies across processes (boot of several replicas, the CLI). */
const APPLY_LOCK = 0x756e6531;

export interface ApplyOptions extends RegistryKeyOptions {
  /** `boot`: an app applying REGISTRY_FILE as it starts; `cli`: `registry:apply`. */
  appliedBy: 'boot' | 'cli';
}

export interface ApplyResult {
  version: number;
  changed: boolean;
  /** At boot: the latest version was applied by the CLI (or before this was recorded) and stays in force. */
  leftInForce?: { appliedBy: 'cli' | null; appliedAt: Date };
}

/**
 * Stores every applied registry/catalogue as a new version row (an audit
 * trail of who could access what, when), and holds the latest one in memory.
 */
@Injectable()
export class RegistryService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RegistryService.name);
  private snapshot: RegistrySnapshot | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.applyRegistryAtBoot) {
      const result = await this.applyFiles(this.config.registryFile, this.config.catalogueFile);
      if (result.leftInForce) {
        this.logger.warn(
          `registry version ${result.version}, applied ${result.leftInForce.appliedBy ? 'by the CLI' : 'before boot and CLI applies were told apart'} ` +
            `at ${result.leftInForce.appliedAt.toISOString()}, is newer than ${this.config.registryFile}: left in force, the file is not applied ` +
            '(`npm run cli -- registry:apply FILE` replaces it)',
        );
      } else {
        this.logger.log(`registry version ${result.version} (${result.changed ? 'applied' : 'unchanged'})`);
      }
    }
    await this.reload();
    if (!this.snapshot) {
      throw new Error(
        'No registry has been applied: run `npm run cli -- registry:apply FILE` or set APPLY_REGISTRY_AT_BOOT=true',
      );
    }
    this.timer = setInterval(() => {
      this.reload().catch((error: Error) => this.logger.warn(`registry reload failed: ${error.message}`));
    }, this.config.registryRefreshMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  current(): RegistrySnapshot {
    if (!this.snapshot) throw new Error('Registry not loaded yet');
    return this.snapshot;
  }

  /** The boot's apply: never over a version the CLI applied. */
  async applyFiles(registryFile: string, catalogueFile: string): Promise<ApplyResult> {
    const { registry, catalogue } = loadRegistryFiles(registryFile, catalogueFile);
    const result = await applyRegistry(this.dataSource, registry, catalogue, {
      appliedBy: 'boot',
      production: this.config.production,
      // Outside production the boot applies the demo's own file; production refuses demo keys regardless.
      allowDemoKeys: true,
    });
    await this.reload();
    return result;
  }

  async reload(): Promise<void> {
    const rows: { version: number; registry: RegistryDocument; catalogue: CatalogueDocument }[] =
      await this.dataSource.query(
        `SELECT version, registry, catalogue FROM registry_version ORDER BY version DESC LIMIT 1`,
      );
    const latest = rows[0];
    if (latest && latest.version !== this.snapshot?.version) {
      this.snapshot = new RegistrySnapshot(latest.version, latest.registry, latest.catalogue);
    }
  }
}

/**
 * Idempotent: applying the content of the latest version again changes
 * nothing. Refuses keys no registry may hold (RegistryRefusedError, nothing
 * written). A boot apply leaves a version the CLI applied in force: the CLI
 * may have revoked a key the file still holds.
 */
export async function applyRegistry(
  dataSource: DataSource,
  registry: RegistryDocument,
  catalogue: CatalogueDocument,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const problems = registryKeyProblems(registry, options);
  if (problems.length > 0) throw new RegistryRefusedError(problems);
  const hash = createHash('sha256').update(JSON.stringify({ registry, catalogue })).digest('hex');
  return dataSource.transaction(async (em) => {
    await em.query('SELECT pg_advisory_xact_lock($1)', [APPLY_LOCK]);
    const [latest]: {
      version: number;
      content_hash: string;
      applied_by: 'boot' | 'cli' | null;
      applied_at: Date;
    }[] = await em.query(
      `SELECT version, content_hash, applied_by, applied_at FROM registry_version ORDER BY version DESC LIMIT 1`,
    );
    if (latest?.content_hash === hash) return { version: latest.version, changed: false };
    if (options.appliedBy === 'boot' && latest && latest.applied_by !== 'boot') {
      return {
        version: latest.version,
        changed: false,
        leftInForce: { appliedBy: latest.applied_by, appliedAt: latest.applied_at },
      };
    }
    const [inserted]: { version: number }[] = await em.query(
      `INSERT INTO registry_version (content_hash, registry, catalogue, applied_by) VALUES ($1, $2, $3, $4)
       RETURNING version`,
      [hash, JSON.stringify(registry), JSON.stringify(catalogue), options.appliedBy],
    );
    return { version: inserted.version, changed: true };
  });
}
