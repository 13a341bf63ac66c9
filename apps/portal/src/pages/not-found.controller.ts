import { All, Controller, Module, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PageError } from './page-error.js';
import { PageErrorFilter } from './page-error.filter.js';

/** Any other address: a page saying so, in the citizen's language. */
@ApiExcludeController()
@UseFilters(PageErrorFilter)
@Controller()
export class NotFoundController {
  @All('*')
  notFound(): never {
    throw new PageError('not-found');
  }
}

/**
 * The catch-all in a module of its own, imported after every other: Nest
 * maps routes module by module, so /health and /metrics are mapped before it.
 */
@Module({ controllers: [NotFoundController] })
export class NotFoundModule {}
