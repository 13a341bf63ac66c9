import type { JobName } from './jobs.js';

export const ON_JOB = Symbol('une-fois:on-job');

/**
 * Marks a provider method as the handler of a job; the workers find it at
 * boot. It receives the parsed payload. One handler per job name.
 */
export function OnJob(name: JobName): MethodDecorator {
  return (_target, _key, descriptor) => {
    Reflect.defineMetadata(ON_JOB, name, descriptor.value as object);
    return descriptor;
  };
}
