export { assertSafeUrl, UnsafeUrlError } from './safe-url.js';
