import type { EntityManager } from 'typeorm';

/** One line of the erasure register: who (the internal id, nothing personal) and when. */
export interface RegisteredErasure {
  citizenId: string;
  erasedAt: Date;
}

/** Every registered erasure, oldest first, from a database's register (the platform's own, or a surviving copy). */
export async function readErasureRegister(em: Pick<EntityManager, 'query'>): Promise<RegisteredErasure[]> {
  const rows: { citizen_id: string; erased_at: Date }[] = await em.query(
    `SELECT citizen_id, erased_at FROM erasure_register ORDER BY erased_at, citizen_id`,
  );
  return rows.map((row) => ({ citizenId: row.citizen_id, erasedAt: row.erased_at }));
}

/**
 * Records the erasure in the caller's transaction and answers the registered time:
 * the first one when the erasure is already there (a replay, or two erasures
 * of one citizen racing), so replaying never moves it. The clock, not the
 * transaction's start: the erasure happens once it holds the citizen's row,
 * after every write that got there first.
 */
export async function registerErasure(em: EntityManager, citizenId: string, at: Date | null): Promise<Date> {
  const [inserted]: { erased_at: Date }[] = await em.query(
    `INSERT INTO erasure_register (citizen_id, erased_at) VALUES ($1, coalesce($2::timestamptz, clock_timestamp()))
     ON CONFLICT (citizen_id) DO NOTHING RETURNING erased_at`,
    [citizenId, at],
  );
  if (inserted) return inserted.erased_at;
  const [existing]: { erased_at: Date }[] = await em.query(
    `SELECT erased_at FROM erasure_register WHERE citizen_id = $1`,
    [citizenId],
  );
  return existing.erased_at;
}

const LINE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s+(\S+)$/i;

/** The register as text, one `citizen-id erased-at` line each, to keep off the platform with the backups. */
export function formatErasureRegister(erasures: RegisteredErasure[]): string[] {
  return erasures.map((erasure) => `${erasure.citizenId} ${erasure.erasedAt.toISOString()}`);
}

/** Reads formatErasureRegister's text back; blank lines and `#` comments are skipped. A bad line is named. */
export function parseErasureRegister(text: string, file: string): RegisteredErasure[] {
  const erasures: RegisteredErasure[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    const erasedAt = match ? new Date(match[2]) : null;
    if (!match || !erasedAt || Number.isNaN(erasedAt.getTime())) {
      throw new ErasureRegisterFileError(
        `${file}:${index + 1}: expected "CITIZEN-UUID ISO-8601-TIME", got "${line.slice(0, 80)}"`,
      );
    }
    erasures.push({ citizenId: match[1].toLowerCase(), erasedAt });
  }
  return erasures;
}

export class ErasureRegisterFileError extends Error {}
