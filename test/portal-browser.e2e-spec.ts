import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { AccessLogCheckpoints } from '#libs/access-log';
import { PairwiseIds } from '#libs/identity';
import { keepScreenshot, launchChromium, seriousAxeViolations } from './support/browser.js';
import { type PortalPlatform, startPortalPlatform } from './support/portal.js';

/**
 * A citizen's afternoon in the portal, in headless Chromium: signed in at
 * the development OpenID provider, they approve a service's consent request
 * arriving by its approval link (with the keyboard alone), see the service's
 * fetch in their access log with the verified mark, revoke the consent, see
 * the next fetch refused, find a deadline the service registered, and switch
 * to English. Every page passes axe-core without a serious or critical
 * violation, and a screenshot of each is kept. Forms posted from another
 * origin, without the session's token, do nothing.
 */
describe('Citizen portal in a browser', () => {
  let p: PortalPlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let ppid: string;
  let service: Record<string, string>;
  const attackers: Server[] = [];

  const violations = async (name: string) => {
    expect([name, await seriousAxeViolations(page)]).toEqual([name, []]);
    expect(existsSync(await keepScreenshot(page, `portal-${name}`))).toBe(true);
  };
  const fetchAddress = async () =>
    (
      await p.broker.http
        .post('/v1/data-requests')
        .set(service)
        .send({ citizen: { ppid }, purpose: 'licence-renewal', attributes: ['address.residential'] })
        .expect(200)
    ).body;

  beforeAll(async () => {
    p = await startPortalPlatform('portalbrowser');
    browser = await launchChromium();
    // axe is injected into the pages, past their CSP, which lets no script in.
    context = await browser.newContext({ bypassCSP: true, locale: 'fr-CA' });
    page = await context.newPage();
  }, 60_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    for (const server of attackers) server.close();
    await p?.close();
  });

  it('signs in at the development provider and shows the profile', async () => {
    await page.goto(`${p.portalUrl}/`);
    expect(await page.getAttribute('html', 'lang')).toBe('fr');
    await violations('accueil');
    await page.click('a.button');
    expect(page.url()).toMatch(new RegExp(`^${p.idp.url}/interaction/`));
    await violations('connexion');
    await page.fill('#login', 'lea');
    await Promise.all([page.waitForURL(`${p.portalUrl}/profil`), page.click('button[type="submit"]')]);
    expect(await page.locator('h1').textContent()).toBe('Mon profil');
    expect(await page.locator('.gov-header').textContent()).toContain('Bonjour Léa');
    expect(await page.locator('table').textContent()).toContain('Tremblay');
    await violations('profil');
  });

  it('approves, with the keyboard alone, a consent request it reached by the approval link', async () => {
    const citizenId = await p.citizenId('demo-citizen');
    ppid = await p.broker.dataSource.transaction((em) => p.broker.app.get(PairwiseIds).issue(em, 'SAAQ', citizenId));
    await p.broker.http
      .put(`/v1/citizens/${ppid}/attributes/address.residential`)
      .set(await p.broker.service('saaq-adresse').auth())
      .send({ value: { line1: '1234 rue Saint-Denis', city: 'Montréal', province: 'QC', postalCode: 'H2X 3K2' } })
      .expect(200);
    service = await p.broker.service('saaq-permis').auth();
    expect((await fetchAddress()).released).toEqual([]);
    const { body: request } = await p.broker.http
      .post('/v1/consent-requests')
      .set(service)
      .send({ citizen: { ppid }, purpose: 'licence-renewal', attributes: ['address.residential'], mode: 'ongoing' })
      .expect(201);

    await page.goto(request.approvalUrl);
    expect(page.url()).toBe(`${p.portalUrl}/demandes/${request.id}`);
    const shown = await page.locator('main').textContent();
    expect(shown).toContain('demande votre permission');
    expect(shown).toContain('Adresse de résidence');
    expect(shown).toContain('En continu');
    await violations('demande');

    // Tab from the top of the page to the Accept button, then Enter: no mouse.
    await page.locator('body').focus();
    let focused = '';
    for (let tabs = 0; tabs < 40 && focused !== 'approve'; tabs++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id);
    }
    expect(focused).toBe('approve');
    await Promise.all([page.waitForURL(`${p.portalUrl}/consentements`), page.keyboard.press('Enter')]);
    expect(await page.locator('.notice.success').textContent()).toContain('Vous avez accepté la demande');
    expect(await page.locator('tbody').textContent()).toMatch(/actif/);
    await violations('consentements');
  });

  it('shows the service’s fetch in the access log, verified against the latest signed checkpoint', async () => {
    expect((await fetchAddress()).released.map((r: { attribute: string }) => r.attribute)).toEqual([
      'address.residential',
    ]);
    await p.vault.app.get(AccessLogCheckpoints).publish({});
    await page.click('nav a[href="/acces"]');
    expect(await page.locator('#verification').textContent()).toContain('Vérifié');
    const rows = page.locator('tbody tr');
    expect(await rows.first().getAttribute('data-outcome')).toBe('released');
    expect(await rows.first().textContent()).toContain('votre consentement');
    await violations('acces');
  });

  it('refuses, and does nothing with, forms posted from elsewhere without the session’s token', async () => {
    const consentId = await consentIdOf(page, p.portalUrl);
    // The same site (another port of localhost: the session cookie goes along), and another site (no cookie at all).
    for (const host of ['localhost', '127.0.0.1']) {
      const attacker = createServer((_request, response) =>
        response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><html lang="en"><body>
<form id="f" method="post" action="${p.portalUrl}/consentements/${consentId}/revoquer"></form>
<script>document.getElementById('f').submit()</script></body></html>`),
      );
      attackers.push(attacker);
      await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
      const forged = await context.newPage();
      const landed = forged.waitForURL(`${p.portalUrl}/**`);
      await forged.goto(`http://${host}:${(attacker.address() as AddressInfo).port}/`);
      await landed;
      expect(await forged.locator('main').textContent()).toContain('Cette action a été refusée');
      await forged.close();
    }
    await page.goto(`${p.portalUrl}/consentements`);
    expect(await page.locator('tbody').textContent()).toMatch(/actif/);
  });

  it('revokes the consent; the next fetch is refused, and the refusal shows in the access log', async () => {
    await page.goto(`${p.portalUrl}/consentements`);
    await Promise.all([page.waitForURL(`${p.portalUrl}/consentements`), page.click('tbody button')]);
    expect(await page.locator('.notice.success').textContent()).toContain('révoqué');
    const refused = await fetchAddress();
    expect(refused.released).toEqual([]);
    expect(refused.withheld).toEqual([{ attribute: 'address.residential', reason: 'consent_required' }]);
    await page.click('nav a[href="/acces"]');
    const newest = page.locator('tbody tr').first();
    expect(await newest.getAttribute('data-outcome')).toBe('withheld');
    expect(await newest.textContent()).toContain('consentement requis');
    expect(await page.locator('#verification').textContent()).toContain('Vérifié');
  });

  it('shows a deadline the service registered, with its reminders, and every other page', async () => {
    await p.broker.http
      .post('/v1/deadlines')
      .set(service)
      .send({
        citizen: { ppid },
        kind: 'licence-renewal',
        dueAt: new Date(Date.now() + 60 * 86_400_000).toISOString(),
        title: { fr: 'Renouveler votre permis de conduire', en: 'Renew your driver’s licence' },
        actionUrl: 'https://saaq.gouv.qc.ca/',
      })
      .expect(201);
    await page.click('nav a[href="/echeances"]');
    const card = page.locator('article[data-deadline]');
    expect(await card.locator('h3').textContent()).toBe('Renouveler votre permis de conduire');
    expect(await card.textContent()).toContain('30 jours avant');
    await violations('echeances');
    for (const [path, name] of [
      ['/demandes', 'demandes'],
      ['/preferences', 'preferences'],
      ['/donnees', 'donnees'],
    ]) {
      await page.click(`nav a[href="${path}"]`);
      expect(await page.locator('nav a[aria-current="page"]').getAttribute('href')).toBe(path);
      await violations(name);
    }
    await Promise.all([page.waitForURL(`${p.portalUrl}/donnees/effacement`), page.click('button.danger')]);
    expect(await page.locator('h1').textContent()).toBe('Confirmer l’effacement');
    await violations('effacement');
  });

  it('switches to English, on every page after', async () => {
    await page.goto(`${p.portalUrl}/echeances`);
    await Promise.all([page.waitForURL(`${p.portalUrl}/echeances`), page.click('a.lang')]);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.locator('h1').textContent()).toBe('My deadlines');
    expect(await page.locator('article[data-deadline] h3').textContent()).toBe('Renew your driver’s licence');
    await violations('deadlines-en');
    await page.click('nav a[href="/acces"]');
    expect(await page.locator('h1').textContent()).toBe('Who viewed my data');
    expect(await page.locator('#verification').textContent()).toContain('Verified');
    await violations('access-en');
  });
});

/** The id of the citizen's consent, from the revoke form of the consents page. */
async function consentIdOf(page: Page, portalUrl: string): Promise<string> {
  await page.goto(`${portalUrl}/consentements`);
  const action = await page.locator('tbody form').first().getAttribute('action');
  return /\/consentements\/([^/]+)\/revoquer/.exec(action ?? '')![1];
}
