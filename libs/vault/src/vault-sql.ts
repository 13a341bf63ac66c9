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

/** JSON array of the citizen's held values among `codes`, still encrypted: `[{attribute, ciphertext, kind, organisation, updated_at}]`. */
export function heldValuesJsonSql(citizen: string, codes: string): string {
  return `(SELECT coalesce(json_agg(json_build_object('attribute', v.attribute,
                   'ciphertext', encode(v.ciphertext, 'base64'), 'kind', v.source_kind,
                   'organisation', v.source_organisation_id, 'updated_at', v.updated_at)), '[]')
            FROM attribute_value v WHERE v.citizen_id = ${citizen} AND v.attribute = ANY (${codes}))`;
}
