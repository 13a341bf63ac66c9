import type { StoredConsentStatus } from './consent.entity.js';

/**
 * The one definition of an active consent: given, not revoked, not used up
 * (a one-time consent after its release) and not past its expiry. Every
 * query and check of "does a consent cover this" goes through it, as SQL
 * (activeConsentSql) or in memory (isActiveConsent); both say the same.
 */
export function activeConsentSql(alias?: string): string {
  const c = alias ? `${alias}.` : '';
  return `(${c}status = 'active' AND (${c}expires_at IS NULL OR ${c}expires_at > now()))`;
}

export function isActiveConsent(
  consent: { status: StoredConsentStatus; expiresAt: Date | null },
  now = new Date(),
): boolean {
  return consent.status === 'active' && (consent.expiresAt === null || consent.expiresAt > now);
}

/**
 * JSON array `[{id, attributes, mode}]` of the citizen's active consents to
 * one service for one purpose, oldest first (the release read composes it).
 */
export function activeConsentsJsonSql(citizen: string, service: string, purpose: string): string {
  return `(SELECT coalesce(json_agg(json_build_object('id', c.id, 'attributes', c.attributes, 'mode', c.mode)
                   ORDER BY c.granted_at), '[]')
            FROM consent c
           WHERE c.citizen_id = ${citizen} AND c.service_id = ${service} AND c.purpose = ${purpose}
             AND ${activeConsentSql('c')})`;
}

/**
 * Uses up one-time consents with the release they allowed: only those still
 * active are marked, and their ids returned, so a caller that counts fewer
 * than it asked for knows another request or a revocation got there first.
 */
export function useUpConsentsSql(citizen: string, ids: string, when = 'true'): string {
  return `UPDATE consent SET status = 'used', used_at = now()
           WHERE citizen_id = ${citizen} AND id = ANY (${ids}::uuid[]) AND ${activeConsentSql()} AND ${when}
          RETURNING id`;
}
