import {
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '#libs/errors';
import { IS_PUBLIC } from '#libs/http';
import { ServiceAuthService, type ServicePrincipal } from '#libs/identity';

export const AUTHORIZE = 'une-fois:authorize';

/**
 * Marks a route as reachable by an authenticated service, naming the rule
 * its handler checks (rule 1's right check, a write right…). A route with
 * neither @Authorize nor @Public is refused to everyone: deny by default.
 */
export const Authorize = (rule: string): MethodDecorator => SetMetadata(AUTHORIZE, rule);

type ServiceRequest = FastifyRequest & { service?: ServicePrincipal };

@Injectable()
export class ServiceAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: ServiceAuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<ServiceRequest>();
    request.service = await this.auth.authenticate(request.headers.authorization);
    if (!this.reflector.get<string>(AUTHORIZE, context.getHandler())) {
      throw new DomainError('forbidden', 'This route declares no access rule.');
    }
    return true;
  }
}

/** The authenticated service of the request. */
export const CurrentService = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ServicePrincipal => {
    const service = context.switchToHttp().getRequest<ServiceRequest>().service;
    if (!service) throw new Error('CurrentService used on a route without ServiceAuthGuard');
    return service;
  },
);
