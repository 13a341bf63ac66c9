export {
  CitizenTokenVerifier,
  devIssuerJwks,
  mintDevCitizenToken,
  type CitizenIdentity,
} from './citizen-token.verifier.js';
export { IdentityModule } from './identity.module.js';
export { PairwiseIds } from './pairwise.js';
