import { type ArgumentMetadata, Injectable, ValidationPipe, type ValidationError } from '@nestjs/common';
import { DomainError, type FieldError } from '#libs/errors';

/** Whitelisting, unknown fields rejected, payloads transformed to DTO classes; failures as field errors. */
@Injectable()
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      forbidUnknownValues: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) =>
        new DomainError('validation_failed', 'The request failed validation.', flatten(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const expectsObject =
      metadata.type === 'body' &&
      typeof metadata.metatype === 'function' &&
      ![String, Number, Boolean, Array, Object].includes(metadata.metatype as never);
    if (expectsObject && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new DomainError('validation_failed', 'The request body must be a JSON object.', [
        { field: '(body)', message: 'must be a JSON object' },
      ]);
    }
    return super.transform(value, metadata);
  }
}

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}
