// A citizen's access token from the development OpenID provider, for the demo's own calls and the
// token it prints for curl: the authorization code flow with PKCE, as the portal runs it, signing in
// by name at the provider's page and exchanging the code with the portal's client credentials (the
// demo made them). Development only: the provider never runs in production.
import { createHash, randomBytes } from 'node:crypto';

const b64url = (buffer) => buffer.toString('base64url');

/** Follows redirects by hand, keeping cookies, until a Location under `stopAt`; the last response, or that URL. */
async function walk(url, init, jar, stopAt) {
  for (let hops = 0; hops < 10; hops++) {
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...init?.headers, cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) return { response, url };
    url = new URL(location, url).href;
    if (url.startsWith(stopAt)) return { reached: url };
    init = undefined;
  }
  throw new Error('too many redirects');
}

export async function devCitizenToken({ issuer, clientId, clientSecret, redirectUri, resource, login }) {
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const authorize = new URL(discovery.authorization_endpoint);
  authorize.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid profile',
    state,
    nonce: b64url(randomBytes(16)),
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
    resource,
  }).toString();
  const jar = new Map();
  const page = await walk(authorize.href, undefined, jar, redirectUri);
  const action = /<form method="post" action="([^"]+)"/.exec(await page.response.text())?.[1];
  if (!action) throw new Error(`no sign-in form at the development provider (HTTP ${page.response.status})`);
  const back = await walk(
    new URL(action, page.url).href,
    { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `login=${encodeURIComponent(login)}` },
    jar,
    redirectUri,
  );
  const callback = back.reached && new URL(back.reached);
  if (!callback || callback.searchParams.get('state') !== state) throw new Error(`${login} could not sign in`);
  const token = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code'),
      redirect_uri: redirectUri,
      code_verifier: verifier,
      resource,
    }),
  });
  if (!token.ok) throw new Error(`the development provider refused the code (HTTP ${token.status})`);
  return (await token.json()).access_token;
}

/** A citizen signing in to the portal as a browser would; the text of the page they land on. */
export async function signInThroughPortal(portalUrl, login) {
  const jar = new Map();
  const page = await walk(`${portalUrl}/auth/connexion?retour=/profil`, undefined, jar, `${portalUrl}/never`);
  const action = /<form method="post" action="([^"]+)"/.exec(await page.response.text())?.[1];
  if (!action) throw new Error(`no sign-in form behind the portal (HTTP ${page.response.status})`);
  const landed = await walk(
    new URL(action, page.url).href,
    { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `login=${encodeURIComponent(login)}` },
    jar,
    `${portalUrl}/never`,
  );
  return (await landed.response.text()).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
}
