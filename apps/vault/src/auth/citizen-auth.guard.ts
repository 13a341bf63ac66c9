import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { IS_PUBLIC } from '#libs/http';
import { CitizenTokenVerifier } from '#libs/identity';
import { AttributesService, type Citizen, CitizensService } from '#libs/vault';

type CitizenRequest = FastifyRequest & { citizen?: Citizen };

/**
 * Every route needs a citizen token unless marked @Public(). The token's
 * subject resolves to the citizen's profile, created on first sight with the
 * identity claims the issuer put in that first token as its first values.
 */
@Injectable()
export class CitizenAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: CitizenTokenVerifier,
    private readonly citizens: CitizensService,
    private readonly attributes: AttributesService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]))
      return true;
    const request = context.switchToHttp().getRequest<CitizenRequest>();
    const identity = await this.verifier.verify(request.headers.authorization);
    request.citizen = await this.citizens.resolve(identity.issuer, identity.subject, (em, citizenId) =>
      this.attributes.writeIdentityClaims(em, citizenId, identity.claims),
    );
    return true;
  }
}

/** The authenticated citizen of the request. */
export const CurrentCitizen = createParamDecorator((_data: unknown, context: ExecutionContext): Citizen => {
  const citizen = context.switchToHttp().getRequest<CitizenRequest>().citizen;
  if (!citizen) throw new Error('CurrentCitizen used on a route without CitizenAuthGuard');
  return citizen;
});
