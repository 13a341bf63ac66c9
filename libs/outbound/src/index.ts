export {
  assertSafeUrl,
  checkedFetch,
  checkedLookup,
  type CheckedAnswer,
  type OutboundOptions,
  postChecked,
  requestChecked,
  UnsafeUrlError,
} from './safe-url.js';
