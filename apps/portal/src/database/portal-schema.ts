import type { OwnSchema } from '#libs/database';
import { PortalSessions1765000000000 } from './migrations/1765000000000-portal-sessions.js';

/** The portal's own schema: its sessions, and nothing of the platform's (it reads citizens' data through the vault's API only). */
export const PORTAL_SCHEMA: OwnSchema = {
  name: 'portal',
  migrations: [PortalSessions1765000000000],
};
