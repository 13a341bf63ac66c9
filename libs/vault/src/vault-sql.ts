/**
 * Reads of the vault's tables for callers that compose them into one
 * statement with other libs' fragments (the broker's release read).
 */

/** The citizen's wrapped data key as JSON `{id, version, wrapped (base64)}`, or NULL. */
export function dataKeyJsonSql(citizen: string): string {
  return `(SELECT json_build_object('id', k.master_key_id, 'version', k.master_key_version,
                   'wrapped', encode(k.wrapped_key, 'base64'))
            FROM citizen_key k WHERE k.citizen_id = ${citizen})`;
}

/**
 * JSON array of the citizen's held values among `codes`, still encrypted:
 * `[{attribute, ciphertext, kind, organisation, updated_at}]`.
 *
 * The citizen's values are found by their id alone and `codes` filters them:
 * one descent of the index reaches all of them (a citizen has a dozen), and
 * the plan does not depend on how many codes are asked. With `codes` in the
 * index condition, a named statement's generic plan was costed for an array
 * of ten and the custom plan for the actual few, so PostgreSQL planned the
 * statement again at every execution (0.13 ms each at a million citizens),
 * and each code was a descent of its own.
 */
export function heldValuesJsonSql(citizen: string, codes: string): string {
  return `(SELECT coalesce(json_agg(json_build_object('attribute', v.attribute,
                   'ciphertext', encode(v.ciphertext, 'base64'), 'kind', v.source_kind,
                   'organisation', v.source_organisation_id, 'updated_at', v.updated_at))
                   FILTER (WHERE v.attribute = ANY (${codes})), '[]')
            FROM attribute_value v WHERE v.citizen_id = ${citizen})`;
}
