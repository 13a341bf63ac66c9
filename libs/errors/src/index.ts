export {
  assertUnreachable,
  DomainError,
  ERROR_TITLES,
  type ErrorCode,
  type FieldError,
} from './error-codes.js';
