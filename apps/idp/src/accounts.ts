import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** An account of the development OpenID provider: a sign-in name and the identity it vouches for. */
export interface DevAccount {
  login: string;
  subject: string;
  given_name: string;
  family_name: string;
  birthdate: string;
}

const FIELDS = ['login', 'subject', 'given_name', 'family_name', 'birthdate'] as const;

/** The accounts file (IDP_ACCOUNTS_FILE), checked: every field a non-empty string, logins and subjects unique. */
export function loadAccounts(file: string): DevAccount[] {
  const parsed = parse(readFileSync(file, 'utf8')) as { accounts?: unknown };
  if (!Array.isArray(parsed?.accounts) || parsed.accounts.length === 0)
    throw new Error(`${file}: an "accounts" list is required`);
  const accounts = parsed.accounts.map((entry: unknown, index) => {
    const account = entry as Record<string, unknown>;
    for (const field of FIELDS)
      if (typeof account?.[field] !== 'string' || (account[field] as string).trim() === '')
        throw new Error(`${file}: account ${index + 1} needs a "${field}"`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(account.birthdate as string))
      throw new Error(`${file}: account ${index + 1}: birthdate must be YYYY-MM-DD`);
    return Object.fromEntries(FIELDS.map((field) => [field, account[field]])) as unknown as DevAccount;
  });
  for (const field of ['login', 'subject'] as const)
    if (new Set(accounts.map((a) => a[field])).size !== accounts.length)
      throw new Error(`${file}: two accounts share a ${field}`);
  return accounts;
}
