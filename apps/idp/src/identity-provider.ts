import type { JWK } from 'jose';
import Provider, { errors } from 'oidc-provider';
import { type AppConfig, devEd25519Jwk } from '#libs/config';
import { GOV_CSS, strictCsp } from '#libs/web';
import type { DevAccount } from './accounts.js';
import { errorPage, languageOf, loggedOutPage, loginPage, logoutPage } from './pages.js';

/** The scope of the vault's API: what the portal's access tokens carry. */
export const VAULT_SCOPE = 'vault';

const MAX_FORM_BYTES = 4096;

/** A URL-encoded form body, small (a sign-in name). */
async function formBody(ctx: { req: AsyncIterable<unknown>; throw(status: number, message: string): never }) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) ctx.throw(413, 'form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * The development OpenID provider, on oidc-provider: the portal's sign-in in
 * development and demos, as the government's authentication service is in
 * production. Its accounts sign in by name alone. The portal is its one
 * client (authorization code with PKCE, client_secret_basic) and, being the
 * platform's own, is not asked for consent. Access tokens are JWTs (RFC
 * 9068) for the resource CITIZEN_AUDIENCE (RFC 8707) that carry the
 * account's identity claims; the vault verifies them with this provider's
 * JWKS like any issuer's. State lives in memory: a restart signs everyone out.
 */
export function createIdentityProvider(config: AppConfig, accounts: DevAccount[]): Provider {
  const bySubject = new Map(accounts.map((account) => [account.subject, account]));
  const byLogin = new Map(accounts.map((account) => [account.login.toLowerCase(), account]));
  const audience = config.citizenIssuer.audience;
  const portal = config.portal;
  const identity = (account: DevAccount) => ({
    given_name: account.given_name,
    family_name: account.family_name,
    birthdate: account.birthdate,
  });
  // Forms here post to the provider, which then redirects to the portal: both are allowed targets.
  const csp = strictCsp([portal.url]);

  const provider = new Provider(config.urls.idp, {
    clients: [
      {
        client_id: portal.clientId,
        client_secret: portal.clientSecret,
        client_name: 'Une fois — portail citoyen',
        redirect_uris: [`${portal.url}/auth/callback`],
        post_logout_redirect_uris: [`${portal.url}/`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'EdDSA',
      },
    ],
    jwks: { keys: [devEd25519Jwk('dev-oidc-provider') as JWK] },
    claims: { openid: ['sub'], profile: ['given_name', 'family_name', 'birthdate'] },
    async findAccount(_ctx, subject) {
      const account = bySubject.get(subject);
      if (!account) return undefined;
      return { accountId: subject, claims: () => ({ sub: subject, ...identity(account) }) };
    },
    cookies: { keys: [devEd25519Jwk('dev-oidc-provider-cookies').d as string] },
    pkce: { required: () => true },
    ttl: { AccessToken: 3600, IdToken: 3600, Interaction: 600, Session: 8 * 3600, Grant: 8 * 3600 },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = logoutPage(languageOf(ctx.oidc.params?.ui_locales), form);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = loggedOutPage(languageOf(ctx.oidc.params?.ui_locales));
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => audience,
        useGrantedResource: async () => true,
        async getResourceServerInfo(_ctx, resource) {
          if (resource !== audience) throw new errors.InvalidTarget(`unknown resource ${resource}`);
          return {
            scope: VAULT_SCOPE,
            audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 3600,
            jwt: { sign: { alg: 'EdDSA' } },
          };
        },
      },
    },
    // The portal is the platform's own client: its grant is made at sign-in, without a consent page.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      if (ctx.oidc.client?.clientId !== portal.clientId || !ctx.oidc.session?.accountId) return undefined;
      const grant = new ctx.oidc.provider.Grant({
        clientId: portal.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile');
      grant.addResourceScope(audience, VAULT_SCOPE);
      await grant.save();
      return grant;
    },
    async extraTokenClaims(_ctx, token) {
      const account = 'accountId' in token ? bySubject.get(token.accountId) : undefined;
      return account ? identity(account) : undefined;
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage(languageOf(ctx.oidc?.params?.ui_locales), out);
    },
  });

  provider.use(async (ctx, next) => {
    ctx.set('x-content-type-options', 'nosniff');
    if (ctx.path === '/health') {
      ctx.body = { status: 'ok' };
      return;
    }
    if (ctx.path === '/assets/gov.css') {
      ctx.type = 'text/css; charset=utf-8';
      ctx.body = GOV_CSS;
      return;
    }
    const interaction = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?$/.exec(ctx.path);
    if (!interaction) {
      await next();
      if (ctx.type === 'text/html') ctx.set('content-security-policy', csp);
      return;
    }
    ctx.set('cache-control', 'no-store');
    ctx.set('content-security-policy', csp);
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const lang = languageOf(details.params.ui_locales);
    const client = await provider.Client.find(String(details.params.client_id));
    const clientName = client?.clientName ?? String(details.params.client_id);
    const finish = async (result: Parameters<Provider['interactionResult']>[2]) => {
      ctx.status = 303;
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
    };
    const action = interaction[2];
    if (action === 'abort' && ctx.method === 'GET') {
      await finish({ error: 'access_denied', error_description: 'The citizen cancelled the sign-in.' });
    } else if (action === 'login' && ctx.method === 'POST') {
      const account = byLogin.get((await formBody(ctx)).get('login')?.trim().toLowerCase() ?? '');
      if (account) {
        await finish({ login: { accountId: account.subject } });
      } else {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = loginPage(lang, details.uid, clientName, accounts, 'unknown');
      }
    } else if (!action && ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = loginPage(lang, details.uid, clientName, accounts);
    } else {
      ctx.status = 405;
    }
  });
  return provider;
}
