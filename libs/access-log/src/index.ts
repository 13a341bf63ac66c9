export {
  AccessLogEntry,
  type AccessBasis,
  type AccessOutcome,
  type WithheldReason,
} from './access-log-entry.entity.js';
export { AccessLogModule } from './access-log.module.js';
export {
  appendLinkCtes,
  appendLinksCtes,
  CHAIN_LOCK_CLASS,
  CHAIN_LOCK_HELD,
  CHAIN_LOCKS_IN_PG_LOCKS,
  chainEntriesJson,
  chainEntryValues,
  chainHeadJsonSql,
  chainLockSql,
  isChainPositionTaken,
  linkWrittenSql,
  lockChain,
} from './chain-sql.js';
export { AccessLogService, type AccessLogPage, type NewAccessLogEntry } from './access-log.service.js';
export {
  canonicalEntry,
  canonicalJson,
  chainBatch,
  chainEntry,
  type ChainHead,
  entryHash,
  firstBrokenEntry,
  GENESIS_HASH,
  type PendingAppend,
} from './hash-chain.js';
export { auditAccessLog, type AuditResult } from './chain-audit.js';
export {
  AccessLogCheckpoints,
  auditCheckpoints,
  type CheckpointAudit,
  type CheckpointView,
  CHECKPOINT_METHOD,
  CHECKPOINT_TYPE,
  type InclusionProof,
  storedRoots,
} from './checkpoints.js';
export { auditPath, leafHash, merkleRoot, rootFromAuditPath } from './merkle.js';
