import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { LEGAL_CATEGORIES, RegistryService } from '#libs/catalogue';
import { Public } from '#libs/http';

/**
 * The names behind the codes the vault's answers use — attributes,
 * purposes (with their legal category), deadline kinds, organisations and
 * services — in French and English, so a client such as the portal shows
 * the citizen words, not codes. Public: the registry's names, nothing of
 * anyone's data.
 */
@Public()
@ApiTags('catalogue')
@Controller('v1/catalogue')
export class CatalogueController {
  constructor(private readonly registry: RegistryService) {}

  @Get()
  @Header('cache-control', 'public, max-age=60')
  @ApiOperation({ summary: 'Names of attributes, purposes, deadline kinds, organisations and services (fr, en)' })
  names() {
    const { registry, catalogue, version } = this.registry.current();
    return {
      version,
      attributes: catalogue.attributes.map((a) => ({
        code: a.code,
        label: a.label,
        type: a.type,
        selfDeclarable: a.selfDeclarable,
        authority: a.authority ?? null,
      })),
      purposes: catalogue.purposes.map((p) => ({
        code: p.code,
        label: p.label,
        legalCategory: { code: p.legalCategory, label: LEGAL_CATEGORIES[p.legalCategory] },
      })),
      deadlineKinds: catalogue.deadlineKinds.map((k) => ({ code: k.code, label: k.label })),
      organisations: registry.organisations.map((o) => ({ id: o.id, name: o.name })),
      services: registry.services.map((s) => ({ id: s.id, organisation: s.organisation, name: s.name ?? null })),
    };
  }
}
