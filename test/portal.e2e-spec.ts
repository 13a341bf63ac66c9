import { portalHttp } from '../apps/portal/src/portal-http.js';
import { PortalAppModule } from '../apps/portal/src/portal-app.module.js';
import { newSessionToken, SessionStore } from '../apps/portal/src/session/session.store.js';
import { startApp } from './support/apps.js';
import { csrfOf, FormClient, type PortalPlatform, startPortalPlatform } from './support/portal.js';

const PAGES = ['/profil', '/consentements', '/demandes', '/acces', '/echeances', '/preferences', '/donnees'];
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');

describe('Citizen portal (HTTP)', () => {
  let p: PortalPlatform;
  beforeAll(async () => {
    p = await startPortalPlatform('portal');
  });
  afterAll(() => p?.close());

  /** A consent request of saaq-permis for the citizen: their address, for a licence renewal. */
  async function consentRequestFor(subject: string): Promise<string> {
    const { PairwiseIds } = await import('#libs/identity');
    const citizenId = await p.citizenId(subject);
    const ppid = await p.broker.dataSource.transaction((em) =>
      p.broker.app.get(PairwiseIds).issue(em, 'SAAQ', citizenId),
    );
    const auth = await p.broker.service('saaq-permis').auth();
    const { body } = await p.broker.http
      .post('/v1/consent-requests')
      .set(auth)
      .send({
        citizen: { ppid },
        purpose: 'licence-renewal',
        attributes: ['address.residential'],
        mode: 'once',
      })
      .expect(201);
    expect(body.approvalUrl).toBe(`${p.portalUrl}/demandes/${body.id}`);
    return body.id;
  }

  it('sends a signed-out browser to sign in from every page, and back to the page after', async () => {
    for (const path of [
      ...PAGES,
      '/demandes/4b0f8a7e-3f6b-4c1e-9a51-0d6f8e2a1c11',
      '/echeances.ics',
      '/donnees/export',
    ]) {
      const response = await fetch(`${p.portalUrl}${path}`, { redirect: 'manual' });
      expect([path, response.status]).toEqual([path, 303]);
      expect(response.headers.get('location')).toBe(`/auth/connexion?retour=${encodeURIComponent(path)}`);
    }
    const browser = new FormClient();
    const landed = await browser.signIn(p.portalUrl, 'lea', '/echeances');
    expect(landed.url).toBe(`${p.portalUrl}/echeances`);
    expect(text(landed.html)).toContain('Bonjour Léa');
  });

  it('makes the identity claims of a first sign-in the citizen’s first values, from their authority', async () => {
    const page = await new FormClient().signIn(p.portalUrl, 'chloe');
    expect(page.status).toBe(200);
    const shown = text(page.html);
    expect(shown).toMatch(/Prénom Chloé Directeur de l'état civil/);
    expect(shown).toMatch(/Nom de famille Gagnon/);
    expect(shown).toMatch(/Date de naissance 1995-09-02/);
    const rows = await p.vault.dataSource.query(
      `SELECT attribute, source_organisation_id, written_by FROM attribute_value WHERE citizen_id = $1 ORDER BY attribute`,
      [await p.citizenId('demo-citizen-new')],
    );
    expect(rows).toEqual(
      ['identity.birthdate', 'identity.family_name', 'identity.given_name'].map((attribute) => ({
        attribute,
        source_organisation_id: 'DEC',
        written_by: 'citizen-issuer',
      })),
    );
  });

  it('refuses an unknown sign-in name at the provider, saying so', async () => {
    const browser = new FormClient();
    const page = await browser.signIn(p.portalUrl, 'nobody');
    expect(page.status).toBe(401);
    expect(text(page.html)).toContain('Aucun compte ne porte ce nom de connexion.');
  });

  it('shows the home page in the language chosen, and sends a signed-in citizen on to their profile', async () => {
    const visitor = await fetch(`${p.portalUrl}/`, { headers: { cookie: 'portal_lang=en' } });
    expect(visitor.status).toBe(200);
    expect(await visitor.text()).toContain('<html lang="en">');
    const browser = new FormClient();
    await browser.signIn(p.portalUrl, 'lea');
    const home = await browser.send(`${p.portalUrl}/`);
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toBe('/profil');
  });

  it('switches language from a page shown in answer to a form, back to its part of the site', async () => {
    const browser = new FormClient();
    const page = await browser.signIn(p.portalUrl, 'lea', '/donnees');
    const confirm = await browser.post(`${p.portalUrl}/donnees/effacement`, { _csrf: csrfOf(page.html) });
    const link = /<a class="lang" href="([^"]+)"/.exec(confirm.html)![1].replace(/&amp;/g, '&');
    expect((await browser.get(`${p.portalUrl}${link}`)).url).toBe(`${p.portalUrl}/donnees`);
  });

  it('signs nobody in on a callback that is not the answer to its own sign-in', async () => {
    const stray = await new FormClient().get(`${p.portalUrl}/auth/callback?code=stolen&state=whatever`);
    expect(stray.status).toBe(401);
    expect(text(stray.html)).toContain('La connexion n’a pas abouti.');
    // A sign-in under way, answered with another state: the code is not exchanged.
    const browser = new FormClient();
    await browser.send(`${p.portalUrl}/auth/connexion`);
    const forged = await browser.get(`${p.portalUrl}/auth/callback?code=stolen&state=not-this-one`);
    expect(forged.status).toBe(401);
    expect((await browser.send(`${p.portalUrl}/profil`)).status).toBe(303);
  });

  it('keeps the session server-side: a random secret in an HttpOnly, SameSite=Lax cookie, no token in clear in the table', async () => {
    const browser = new FormClient();
    const start = await browser.send(`${p.portalUrl}/auth/connexion`);
    const cookie = start.headers.getSetCookie().find((line) => line.startsWith('portal_session='))!;
    expect(cookie).toMatch(/^portal_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    const first = browser.cookies.get('portal_session');
    await browser.signIn(p.portalUrl, 'lea');
    // Signing in gives the session a new secret.
    expect(browser.cookies.get('portal_session')).not.toBe(first);
    const rows: { sealed: Buffer }[] = await p.vault.dataSource.query(`SELECT sealed FROM portal.session`);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.sealed.toString('latin1')).not.toMatch(/eyJ|accessToken|Léa|demo-citizen/);
    }
  });

  it('refuses a form posted without the session’s CSRF token, with another one, or from another site, and changes nothing', async () => {
    const browser = new FormClient();
    await browser.signIn(p.portalUrl, 'samuel');
    const form = await browser.get(`${p.portalUrl}/preferences`);
    const token = csrfOf(form.html);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const change = { language: 'en', email: 'on', quietStart: '22:00', quietEnd: '06:00' };
    const without = await browser.post(`${p.portalUrl}/preferences`, change);
    const wrong = await browser.post(`${p.portalUrl}/preferences`, { ...change, _csrf: 'x'.repeat(43) });
    const crossSite = await browser.get(`${p.portalUrl}/preferences`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' },
      body: new URLSearchParams({ ...change, _csrf: token }).toString(),
    });
    // Of the token's length in characters, not in bytes.
    const accented = await browser.post(`${p.portalUrl}/preferences`, { ...change, _csrf: 'é'.repeat(43) });
    for (const refused of [without, wrong, crossSite, accented]) {
      expect(refused.status).toBe(403);
      expect(text(refused.html)).toContain('Cette action a été refusée');
    }
    expect((await browser.get(`${p.portalUrl}/preferences`)).html).toContain('value="21:00"');
    const saved = await browser.post(`${p.portalUrl}/preferences`, { ...change, _csrf: token });
    expect(saved.url).toBe(`${p.portalUrl}/preferences`);
    expect(text(saved.html)).toContain('Vos préférences sont enregistrées.');
    expect(saved.html).toContain('value="22:00"');
  });

  it('never shows one citizen’s data in another’s session', async () => {
    const lea = new FormClient();
    const samuel = new FormClient();
    await lea.signIn(p.portalUrl, 'lea');
    await samuel.signIn(p.portalUrl, 'samuel');
    const requestId = await consentRequestFor('demo-citizen');
    const leas = await lea.get(`${p.portalUrl}/demandes/${requestId}`);
    expect(leas.status).toBe(200);
    expect(text(leas.html)).toContain('Adresse de résidence');
    const seen = await samuel.get(`${p.portalUrl}/demandes/${requestId}`);
    expect(seen.status).toBe(404);
    const token = csrfOf((await samuel.get(`${p.portalUrl}/profil`)).html);
    const approved = await samuel.post(`${p.portalUrl}/demandes/${requestId}/accepter`, { _csrf: token });
    expect(approved.status).toBe(404);
    expect(text((await lea.get(`${p.portalUrl}/demandes`)).html)).toContain('demande votre permission');
    expect(text((await samuel.get(`${p.portalUrl}/demandes`)).html)).toMatch(
      /Aucune demande en attente\.|No pending request\./,
    );
    const leaProfile = text((await lea.get(`${p.portalUrl}/profil`)).html);
    const samuelProfile = text((await samuel.get(`${p.portalUrl}/profil`)).html);
    expect(leaProfile).toContain('Tremblay');
    expect(leaProfile).not.toContain('Nguyen');
    expect(samuelProfile).toContain('Nguyen');
    expect(samuelProfile).not.toContain('Tremblay');
  });

  it('passes on the signed receipt, the calendar and the export as downloads', async () => {
    const lea = new FormClient();
    const page = await lea.signIn(p.portalUrl, 'lea', '/demandes');
    const requestId = /href="\/demandes\/([0-9a-f-]{36})"/.exec(page.html)![1];
    await lea.post(`${p.portalUrl}/demandes/${requestId}/accepter`, { _csrf: csrfOf(page.html) });
    const consents = await lea.get(`${p.portalUrl}/consentements`);
    const receiptPath = /href="(\/consentements\/[0-9a-f-]{36}\/recu)"/.exec(consents.html)![1];
    const receipt = await lea.send(`${p.portalUrl}${receiptPath}`);
    expect(receipt.status).toBe(200);
    expect(receipt.headers.get('content-type')).toMatch(/^application\/jose/);
    expect(receipt.headers.get('content-disposition')).toMatch(/^attachment/);
    expect(await receipt.text()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const calendar = await lea.send(`${p.portalUrl}/echeances.ics`);
    expect(calendar.headers.get('content-type')).toMatch(/^text\/calendar/);
    expect(await calendar.text()).toMatch(/^BEGIN:VCALENDAR/);
    const exported = await lea.send(`${p.portalUrl}/donnees/export`);
    expect(exported.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await exported.json()) as { format: string }).format).toBe('une-fois-export/1');
  });

  it('ends a session left idle longer than PORTAL_SESSION_IDLE_MINUTES', async () => {
    const browser = new FormClient();
    await browser.signIn(p.portalUrl, 'lea');
    expect((await browser.get(`${p.portalUrl}/profil`)).url).toBe(`${p.portalUrl}/profil`);
    const token = csrfOf((await browser.get(`${p.portalUrl}/preferences`)).html);
    await p.vault.dataSource.query(`UPDATE portal.session SET last_seen_at = now() - interval '16 minutes'`);
    const after = await browser.send(`${p.portalUrl}/profil`);
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/auth/connexion?retour=%2Fprofil');
    // A form sent from a page left open past the end: sent to sign in, nothing done, nothing called forged.
    const late = await browser.send(`${p.portalUrl}/preferences`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        _csrf: token,
        language: 'en',
        quietStart: '23:00',
        quietEnd: '07:00',
      }).toString(),
    });
    expect(late.status).toBe(303);
    expect(late.headers.get('location')).toBe('/auth/connexion?retour=%2Fprofil');
  });

  it('never brings back an ended session: a page that read it before cannot save it after', async () => {
    const store = p.portal.app.get(SessionStore);
    const token = newSessionToken();
    await store.create(token, { csrf: 'x'.repeat(43) });
    expect(await store.update(token, { csrf: 'y'.repeat(43) })).toBe(true);
    await store.delete(token);
    expect(await store.update(token, { csrf: 'z'.repeat(43) })).toBe(false);
    expect(await store.find(token)).toBeNull();
  });

  it('signs out: the session is gone, and its cookie opens nothing any more', async () => {
    const browser = new FormClient();
    const page = await browser.signIn(p.portalUrl, 'lea');
    const cookie = browser.cookies.get('portal_session')!;
    const out = await browser.send(`${p.portalUrl}/auth/deconnexion`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrfOf(page.html) }).toString(),
    });
    expect(out.status).toBe(303);
    const endSession = new URL(out.headers.get('location')!);
    expect(endSession.href).toMatch(new RegExp(`^${p.idp.url}/session/end\\?`));
    // The portal names itself; no ID token (which carries the citizen's identity) goes into an address.
    expect(endSession.searchParams.get('client_id')).toBe('une-fois-portal');
    expect(endSession.searchParams.has('id_token_hint')).toBe(false);
    const replayed = await fetch(`${p.portalUrl}/profil`, {
      headers: { cookie: `portal_session=${cookie}` },
      redirect: 'manual',
    });
    expect(replayed.status).toBe(303);
    expect(replayed.headers.get('location')).toMatch(/^\/auth\/connexion/);
  });

  it('answers bad input with a page that says so, and writes nothing', async () => {
    const browser = new FormClient();
    const profile = await browser.signIn(p.portalUrl, 'chloe');
    const token = csrfOf(profile.html);
    const unknown = await browser.get(`${p.portalUrl}/nulle-part`);
    expect(unknown.status).toBe(404);
    expect(unknown.html).toContain('<html lang="fr">');
    expect((await browser.get(`${p.portalUrl}/demandes/pas-un-identifiant`)).status).toBe(404);
    const badHours = await browser.post(`${p.portalUrl}/preferences`, {
      _csrf: token,
      language: 'fr',
      quietStart: '25:00',
      quietEnd: '06:00',
    });
    expect(badHours.status).toBe(400);
    const unticked = await browser.post(`${p.portalUrl}/donnees/effacement/confirmer`, { _csrf: token });
    expect(unticked.status).toBe(400);
    const badEmail = await browser.post(`${p.portalUrl}/profil/coordonnees`, {
      _csrf: token,
      email: 'pas une adresse',
    });
    expect(badEmail.status).toBe(422);
    expect(badEmail.html).toContain('aria-invalid="true"');
    // Nothing written: no e-mail address for Chloé.
    expect(text((await browser.get(`${p.portalUrl}/profil`)).html)).not.toContain('pas une adresse');
    expect(
      await p.vault.dataSource.query(
        `SELECT 1 FROM attribute_value WHERE citizen_id = $1 AND attribute = 'contact.email'`,
        [await p.citizenId('demo-citizen-new')],
      ),
    ).toEqual([]);
  });

  /** A second portal on the same sessions, with one of its peers away. */
  const orphanPortal = (env: Record<string, string>) =>
    startApp(
      PortalAppModule.forRoot({
        NODE_ENV: 'test',
        DATABASE_URL: p.db.url,
        CITIZEN_ISSUER: p.idp.url,
        VAULT_URL: p.vault.url,
        LOG_LEVEL: 'silent',
        ...env,
      }),
      { setup: portalHttp },
    );

  it('shows a 503 page, with Retry-After, when the vault or the issuer does not answer', async () => {
    const browser = new FormClient();
    await browser.signIn(p.portalUrl, 'lea');
    const vaultAway = await orphanPortal({ VAULT_URL: 'http://127.0.0.1:9' });
    const issuerAway = await orphanPortal({ CITIZEN_ISSUER: 'http://127.0.0.1:9' });
    try {
      for (const response of [
        await browser.send(`${vaultAway.url}/profil`),
        await new FormClient().send(`${issuerAway.url}/auth/connexion`),
      ]) {
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBe('5');
        expect(text(await response.text())).toContain('Le service est momentanément indisponible.');
      }
    } finally {
      await vaultAway.close();
      await issuerAway.close();
    }
  });
});
