export { assertSafeUrl, postChecked, UnsafeUrlError } from './safe-url.js';
