export {
  assertUnreachable,
  DomainError,
  ERROR_TITLES,
  type ErrorCode,
  type FieldError,
  loggableError,
} from './error-codes.js';
