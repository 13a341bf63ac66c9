import { Injectable } from '@nestjs/common';
import type { Label } from '#libs/catalogue';
import type { Lang } from '../pages/text.js';
import { VaultClient } from './vault-client.js';

interface Catalogue {
  attributes: { code: string; label: Label; selfDeclarable: boolean }[];
  purposes: { code: string; label: Label; legalCategory: { code: string; label: Label } }[];
  deadlineKinds: { code: string; label: Label }[];
  organisations: { id: string; name: Label }[];
  services: { id: string; organisation: string; name: Label | null }[];
}

/** How long the names are kept before they are asked again. */
const KEPT_MS = 60_000;

/** A name in the citizen's language, by code, from the vault's public catalogue of names. */
export interface Names {
  attribute(code: string): string;
  purpose(code: string): string;
  legalCategory(purpose: string): string | null;
  organisation(id: string): string;
  service(id: string): string;
}

/**
 * The vault's names for the codes its answers carry (GET /v1/catalogue),
 * kept a minute. When the vault cannot give them, the codes show instead:
 * a page is never lost for want of a name.
 */
@Injectable()
export class CatalogueNames {
  private catalogue: Catalogue | null = null;
  private fetchedAt = 0;

  constructor(private readonly vault: VaultClient) {}

  async in(lang: Lang): Promise<Names> {
    if (!this.catalogue || Date.now() - this.fetchedAt > KEPT_MS) {
      try {
        this.catalogue = await this.vault.json<Catalogue>(null, 'GET', '/v1/catalogue');
        this.fetchedAt = Date.now();
      } catch {
        // The codes stand in until the vault answers again.
      }
    }
    const c = this.catalogue;
    const find = <T extends { label?: Label | null; name?: Label | null }>(
      list: T[] | undefined,
      match: (item: T) => boolean,
    ) => {
      const item = list?.find(match);
      return (item?.label ?? item?.name)?.[lang];
    };
    return {
      attribute: (code) => find(c?.attributes, (a) => a.code === code) ?? code,
      purpose: (code) => find(c?.purposes, (p) => p.code === code) ?? code,
      legalCategory: (code) => c?.purposes.find((p) => p.code === code)?.legalCategory.label[lang] ?? null,
      organisation: (id) => find(c?.organisations, (o) => o.id === id) ?? id,
      service: (id) => find(c?.services, (s) => s.id === id) ?? id,
    };
  }
}
