import {
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { IS_PUBLIC } from '#libs/http';
import { type CitizenIdentity, CitizenTokenVerifier } from '#libs/identity';
import { AttributesService, type Citizen, CitizensService } from '#libs/vault';

type CitizenRequest = FastifyRequest & { citizen?: Citizen; identity?: CitizenIdentity };

const FINDS_CITIZEN_ITSELF = 'une-fois:finds-citizen-itself';

/**
 * A route that finds the citizen in a statement of its own, from the
 * verified identity (@CurrentIdentity), so that the guard checks the token
 * only: the profile page reads the citizen and their values in one round
 * trip. Such a route still creates the profile on first sight (CitizenResolver).
 */
export const FindsCitizenItself = (): MethodDecorator => SetMetadata(FINDS_CITIZEN_ITSELF, true);

/** The citizen behind a verified identity, created on first sight with the identity claims of that first token. */
@Injectable()
export class CitizenResolver {
  constructor(
    private readonly citizens: CitizensService,
    private readonly attributes: AttributesService,
  ) {}

  resolve(identity: CitizenIdentity): Promise<Citizen> {
    return this.citizens.resolve(identity.issuer, identity.subject, (em, citizenId) =>
      this.attributes.writeIdentityClaims(em, citizenId, identity.claims),
    );
  }
}

/**
 * Every route needs a citizen token unless marked @Public(). The token's
 * subject resolves to the citizen's profile (CitizenResolver), unless the
 * route finds the citizen itself (@FindsCitizenItself).
 */
@Injectable()
export class CitizenAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: CitizenTokenVerifier,
    private readonly resolver: CitizenResolver,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]))
      return true;
    const request = context.switchToHttp().getRequest<CitizenRequest>();
    const identity = await this.verifier.verify(request.headers.authorization);
    if (this.reflector.get<boolean>(FINDS_CITIZEN_ITSELF, context.getHandler())) request.identity = identity;
    else request.citizen = await this.resolver.resolve(identity);
    return true;
  }
}

/** The authenticated citizen of the request. */
export const CurrentCitizen = createParamDecorator((_data: unknown, context: ExecutionContext): Citizen => {
  const citizen = context.switchToHttp().getRequest<CitizenRequest>().citizen;
  if (!citizen) throw new Error('CurrentCitizen used on a route without CitizenAuthGuard');
  return citizen;
});

/** The verified identity of a request to a route marked @FindsCitizenItself. */
export const CurrentIdentity = createParamDecorator(
  (_data: unknown, context: ExecutionContext): CitizenIdentity => {
    const identity = context.switchToHttp().getRequest<CitizenRequest>().identity;
    if (!identity) throw new Error('CurrentIdentity used on a route not marked @FindsCitizenItself');
    return identity;
  },
);
