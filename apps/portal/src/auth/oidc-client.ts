import { Injectable, Logger } from '@nestjs/common';
import * as oidc from 'openid-client';
import { AppConfig } from '#libs/config';
import { PageError } from '../pages/page-error.js';

/** Seconds each call to the issuer (discovery, token) may take. */
const ISSUER_TIMEOUT_SECONDS = 10;

export interface SignedIn {
  accessToken: string;
  /** When the access token ends, in ms since the epoch. */
  expiresAt: number;
  givenName: string | null;
}

/**
 * The portal as a relying party of CITIZEN_ISSUER (openid-client):
 * authorization code with PKCE (S256), state and nonce, client_secret_basic,
 * and an access token asked for the resource CITIZEN_AUDIENCE (RFC 8707),
 * the vault. The issuer's metadata is discovered on first use and kept; an
 * issuer out of reach is a 503 page, and discovery is tried again next time.
 */
@Injectable()
export class OidcClient {
  private readonly logger = new Logger(OidcClient.name);
  private configuration: Promise<oidc.Configuration> | null = null;
  readonly redirectUri: string;

  constructor(private readonly config: AppConfig) {
    this.redirectUri = `${config.portal.url}/auth/callback`;
  }

  private discovered(): Promise<oidc.Configuration> {
    this.configuration ??= oidc
      .discovery(
        new URL(this.config.citizenIssuer.issuer),
        this.config.portal.clientId,
        { client_secret: this.config.portal.clientSecret },
        oidc.ClientSecretBasic(this.config.portal.clientSecret),
        {
          timeout: ISSUER_TIMEOUT_SECONDS,
          // The development issuer is served over http on this machine; production insists on https.
          execute: this.config.production ? [] : [oidc.allowInsecureRequests],
        },
      )
      .catch((error: Error) => {
        this.configuration = null;
        this.logger.warn({ error: error.message }, 'the citizen issuer could not be discovered');
        throw new PageError('unavailable');
      });
    return this.configuration;
  }

  /** Where to send the browser to sign in, and what the callback must find again. */
  async start(lang: 'fr' | 'en'): Promise<{ url: string; state: string; nonce: string; codeVerifier: string }> {
    const configuration = await this.discovered();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri,
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      resource: this.config.citizenIssuer.audience,
      ui_locales: lang,
    });
    return { url: url.href, state, nonce, codeVerifier };
  }

  /** The callback: the code exchanged for tokens, after every check (state, nonce, PKCE, the ID token). */
  async finish(
    callbackUrl: URL,
    expected: { state: string; nonce: string; codeVerifier: string },
  ): Promise<SignedIn> {
    const configuration = await this.discovered();
    const tokens = await oidc.authorizationCodeGrant(
      configuration,
      callbackUrl,
      {
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        pkceCodeVerifier: expected.codeVerifier,
        idTokenExpected: true,
      },
      { resource: this.config.citizenIssuer.audience },
    );
    const claims = tokens.claims();
    return {
      accessToken: tokens.access_token,
      expiresAt: Date.now() + (tokens.expiresIn() ?? 300) * 1000,
      givenName: typeof claims?.given_name === 'string' ? claims.given_name : null,
    };
  }

  /**
   * The issuer's end of session, where sign-out sends the browser; null when
   * it has none. The portal names itself by its client id, not with an ID
   * token: the address stays in the browser's history and the issuer's logs,
   * and an ID token carries the citizen's identity.
   */
  async endSessionUrl(lang: 'fr' | 'en'): Promise<string | null> {
    const configuration = await this.discovered().catch(() => null);
    if (!configuration?.serverMetadata().end_session_endpoint) return null;
    return oidc.buildEndSessionUrl(configuration, {
      client_id: this.config.portal.clientId,
      post_logout_redirect_uri: `${this.config.portal.url}/`,
      ui_locales: lang,
    }).href;
  }
}
