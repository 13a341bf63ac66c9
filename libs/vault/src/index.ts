export { AttributeHistory, AttributeValue, type SourceKind } from './attribute-value.entity.js';
export { decryptAttribute, encryptAttribute } from './attribute-crypto.js';
export {
  AttributesService,
  CITIZEN_ISSUER_WRITER,
  IDENTITY_CLAIMS,
  type HeldProfile,
  type HeldValue,
  type HistoricValue,
  sourceOf,
  type Writer,
} from './attributes.service.js';
export { CitizenKey } from './citizen-key.entity.js';
export { Citizen, type Channels, DEFAULT_QUIET_HOURS, type QuietHours } from './citizen.entity.js';
export {
  CitizensService,
  type LockedCitizen,
  lockedCitizen,
  lockLiveCitizen,
  lockLiveCitizenOf,
  lockLiveCitizenSql,
  type Preferences,
} from './citizens.service.js';
export { DataKeysService, type RotationResult } from './data-keys.service.js';
export { dataKeyJsonSql, heldValuesJsonSql } from './vault-sql.js';
export { VaultModule } from './vault.module.js';
