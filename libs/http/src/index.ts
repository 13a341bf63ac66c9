export { type RawBodyRequest } from './body-parsing.js';
export { createHttpApp, type HttpAppOptions, listenEverywhere } from './http-app.js';
export { HttpPlatformModule, type HttpPlatformOptions } from './http-platform.module.js';
export { MetricsRegistry } from './metrics.js';
export { PROBLEM_CONTENT_TYPE, preferredLanguage, problemBody, type ProblemBody } from './problem.js';
export { ProblemFilter, RETRY_AFTER_SECONDS } from './problem.filter.js';
export { statusOf } from './error-status.js';
export { IS_PUBLIC, Public } from './public.decorator.js';
