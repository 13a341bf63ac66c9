import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { IsString, MaxLength } from 'class-validator';
import type { PortalRequest } from '../session/sessions.js';
import { PageError } from './page-error.js';

/**
 * The signed-in citizen's access token, for a page that needs one: no
 * session, or a token past its end, sends the browser to sign in.
 */
export const CitizenToken = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const citizen = context.switchToHttp().getRequest<PortalRequest>().session?.data.citizen;
  if (!citizen || citizen.expiresAt <= Date.now()) throw new PageError('sign-in');
  return citizen.accessToken;
});

/** What every form posts besides its own fields: the session's synchronizer token (checked by CsrfGuard). */
export class FormDto {
  @IsString() @MaxLength(100) _csrf!: string;
}

/** Ids in the portal's paths are the vault's UUIDs; anything else is a page that does not exist. */
export function vaultId(id: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new PageError('not-found');
  return id;
}
