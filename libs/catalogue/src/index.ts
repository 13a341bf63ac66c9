export { checkAttributeValue, PROVINCES, type JsonValue, type ValueCheck } from './attribute-values.js';
export { CatalogueModule } from './catalogue.module.js';
export { IsAttributeCodeList } from './dto-decorators.js';
export * from './model.js';
export { loadRegistryFiles, parseCatalogue, parseRegistry } from './registry-files.js';
export { RegistrySnapshot } from './registry-snapshot.js';
export {
  DEMO_KEY_THUMBPRINTS,
  jwkThumbprint,
  RegistryRefusedError,
  registryKeyProblems,
  type RegistryKeyOptions,
} from './registry-keys.js';
export { applyRegistry, RegistryService, type ApplyOptions, type ApplyResult } from './registry.service.js';
export { RegistryFileError, type FileProblem } from './yaml-checker.js';
