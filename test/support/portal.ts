import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppConfig, type AppModuleOptions } from '#libs/config';
import { loadAccounts } from '../../apps/idp/src/accounts.js';
import { createIdentityProvider } from '../../apps/idp/src/identity-provider.js';
import { portalHttp } from '../../apps/portal/src/portal-http.js';
import { PortalAppModule } from '../../apps/portal/src/portal-app.module.js';
import { VaultAppModule } from '../../apps/vault/src/vault-app.module.js';
import { type RunningApp, startApp, testEnv } from './apps.js';
import { type RunningBroker, startBroker } from './broker-app.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/** A port nobody listens on, for an app whose address must be known before it starts. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export interface PortalPlatform {
  db: TestDatabase;
  /** The development OpenID provider, as `npm run start:idp` runs it. */
  idp: { url: string; close(): Promise<void> };
  vault: RunningApp;
  broker: RunningBroker;
  portal: RunningApp;
  /** The portal's address as a browser reaches it (localhost, so its cookies are the portal's). */
  portalUrl: string;
  /** The vault's database id of a citizen of the provider, once they signed in. */
  citizenId(subject: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The citizen's side of the platform, each app as it runs: the development
 * OpenID provider (its accounts from config/demo/identities.yaml), the
 * vault trusting it as CITIZEN_ISSUER, the broker, and the portal — a
 * relying party of the provider and a client of the vault.
 */
export async function startPortalPlatform(
  label: string,
  extra: Record<string, string> = {},
  options: AppModuleOptions = {},
): Promise<PortalPlatform> {
  const db = await createTestDatabase(label);
  const idpServer: Server = createServer();
  await new Promise<void>((resolve) => idpServer.listen(0, '127.0.0.1', resolve));
  const issuer = `http://localhost:${(idpServer.address() as AddressInfo).port}`;
  const portalPort = await freePort();
  const portalUrl = `http://localhost:${portalPort}`;
  const citizenIssuer = { issuer, jwksUri: `${issuer}/jwks`, audience: 'urn:une-fois:vault' };
  const env = testEnv(db, citizenIssuer, { PORTAL_URL: portalUrl, IDP_URL: issuer, ...extra });
  const provider = createIdentityProvider(
    AppConfig.fromEnvironment(env, { identityProvider: true }),
    loadAccounts('config/demo/identities.yaml'),
  );
  idpServer.on('request', provider.callback());
  const vault = await startApp(VaultAppModule.forRoot(env, options));
  const broker = await startBroker(db, citizenIssuer, { PORTAL_URL: portalUrl, ...extra }, options);
  const portal = await startApp(PortalAppModule.forRoot({ ...env, VAULT_URL: vault.url }, options), {
    port: portalPort,
    setup: portalHttp,
  });
  return {
    db,
    idp: { url: issuer, close: () => new Promise<void>((resolve) => idpServer.close(() => resolve())) },
    vault,
    broker,
    portal,
    portalUrl,
    citizenId: async (subject) =>
      (
        await vault.dataSource.query(`SELECT id FROM citizen WHERE issuer = $1 AND subject = $2`, [
          issuer,
          subject,
        ])
      )[0]?.id,
    close: async () => {
      await portal.close();
      await broker.close();
      await vault.close();
      idpServer.closeAllConnections();
      await new Promise<void>((resolve) => idpServer.close(() => resolve()));
      await db.drop();
    },
  };
}

/**
 * A browser without a browser: follows redirects by hand, keeps cookies per
 * host (as a browser does on localhost, whatever the port), posts forms.
 */
export class FormClient {
  readonly cookies = new Map<string, string>();

  private cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private keep(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** One request, redirects not followed. */
  async send(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', this.cookieHeader());
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.keep(response);
    return response;
  }

  /** Follows redirects to the page at the end: its address, status and HTML. */
  async get(url: string, init: RequestInit = {}): Promise<{ url: string; status: number; html: string }> {
    let response = await this.send(url, init);
    let at = url;
    while (response.status >= 300 && response.status < 400) {
      at = new URL(response.headers.get('location')!, at).href;
      response = await this.send(at);
    }
    return { url: at, status: response.status, html: await response.text() };
  }

  /** Posts a form (with the page's CSRF token unless told otherwise) and follows where it leads. */
  async post(url: string, fields: Record<string, string>) {
    return this.get(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** Signs in at the development provider by sign-in name, as a citizen would; the page it lands on. */
  async signIn(portalUrl: string, login: string, back = '/profil') {
    const form = await this.get(`${portalUrl}/auth/connexion?retour=${encodeURIComponent(back)}`);
    const action = /<form method="post" action="([^"]+)"/.exec(form.html)?.[1];
    if (!action) throw new Error(`no sign-in form at ${form.url} (${form.status})`);
    return this.post(new URL(action, form.url).href, { login });
  }
}

/** The CSRF token of a page's forms. */
export const csrfOf = (html: string): string => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
