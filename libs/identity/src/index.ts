export {
  CitizenTokenVerifier,
  devIssuerJwks,
  mintDevCitizenToken,
  type CitizenIdentity,
} from './citizen-token.verifier.js';
export { IdentityModule, ServiceAuthModule } from './identity.module.js';
export { citizenOfPpidSql, type IssuedPairwiseId, PairwiseId, PairwiseIds } from './pairwise.js';
export {
  ACCESS_TOKEN_TTL_SECONDS,
  CLIENT_ASSERTION_ALGORITHMS,
  ServiceAuthService,
  type ServicePrincipal,
  type TokenRequest,
  type TokenResponse,
} from './service-auth.service.js';
