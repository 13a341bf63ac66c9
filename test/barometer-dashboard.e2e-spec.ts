import { existsSync } from 'node:fs';
import { DateTime } from 'luxon';
import type { Browser } from 'playwright-core';
import { ManualClock } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import type { RunningApp } from './support/apps.js';
import { JwksServer, metricEvent, newSigningKey, signedBatch, startBarometer } from './support/barometer.js';
import { keepScreenshot, launchChromium, seriousAxeViolations } from './support/browser.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

const at = (wall: string) => DateTime.fromISO(wall, { zone: 'America/Montreal' }).toJSDate();

/**
 * The dashboard in headless Chromium: both indicators over time against
 * their targets, with the numbers as tables, in French and then in English,
 * without a serious or critical accessibility violation.
 */
describe('Barometer dashboard in a browser', () => {
  const platform = new PlatformSigner([newSigningKey('platform-1')]);
  const clock = new ManualClock(at('2027-05-01T12:00'));
  let db: TestDatabase;
  let jwks: JwksServer;
  let barometer: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    db = await createTestDatabase('barodashboard');
    jwks = await new JwksServer(platform).start();
    barometer = await startBarometer(db, jwks.url, {}, { clock });
    // March: SAAQ's two services, one re-asking; April: RAMQ too. Deadlines fall due in both months.
    const deadline = (id: string, organisation: string, dueAt: string) =>
      metricEvent('deadline.registered', {
        deadline: id,
        kind: 'licence-renewal',
        organisation,
        service: null,
        dueAt: at(dueAt).toISOString(),
      });
    const sent = (
      reminder: string,
      deadlineId: string,
      organisation: string,
      dueAt: string,
      sentAt: string,
    ) =>
      metricEvent('reminder.sent', {
        reminder,
        deadline: deadlineId,
        kind: 'licence-renewal',
        organisation,
        service: null,
        dueAt: at(dueAt).toISOString(),
        at: at(sentAt).toISOString(),
      });
    const ids = Array.from({ length: 6 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`);
    const events = [
      metricEvent('service.active', { service: 'saaq-permis', organisation: 'SAAQ', day: '2027-03-03' }),
      metricEvent('collection', {
        reportId: 'r1',
        service: 'saaq-adresse',
        organisation: 'SAAQ',
        reAsked: 1,
        attributes: 1,
        day: '2027-03-04',
      }),
      metricEvent('service.active', { service: 'saaq-permis', organisation: 'SAAQ', day: '2027-04-03' }),
      metricEvent('service.active', { service: 'ramq-carte', organisation: 'RAMQ', day: '2027-04-05' }),
      deadline(ids[0], 'SAAQ', '2027-03-20T12:00'),
      sent(ids[3], ids[0], 'SAAQ', '2027-03-20T12:00', '2027-03-19T12:00'),
      deadline(ids[1], 'SAAQ', '2027-03-25T12:00'),
      deadline(ids[2], 'RAMQ', '2027-04-10T12:00'),
      sent(ids[4], ids[2], 'RAMQ', '2027-04-10T12:00', '2027-04-03T12:00'),
    ];
    const batch = await signedBatch(events, platform);
    await barometer.http.post('/v1/events').set(batch.headers).send(batch.body).expect(200);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await barometer?.close();
    await jwks?.stop();
    await db?.drop();
  });

  it('shows both indicators against their targets, in French then English, with no serious accessibility violation', async () => {
    // Only axe's own script is let in past the page's CSP; the page itself runs none.
    const context = await browser.newContext({ bypassCSP: true, locale: 'fr-CA' });
    const page = await context.newPage();
    const response = await page.goto(`${barometer.url}/`);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
    expect(await page.getAttribute('html', 'lang')).toBe('fr');
    await expect(page.locator('h1').textContent()).resolves.toBe('Baromètre Une fois');

    const i2 = page.locator('section[data-indicator="I2"]');
    const i3 = page.locator('section[data-indicator="I3"]');
    expect(await i2.locator('h2').textContent()).toContain('I2');
    expect(await i2.locator('.target-text').textContent()).toMatch(/Cible : 50\s%/);
    expect(await i3.locator('.target-text').textContent()).toMatch(/Cible : 60\s%/);
    // A chart with its target line, and the same numbers as a table.
    expect(await i2.locator('svg[role="img"] .target').count()).toBe(1);
    expect(await i3.locator('svg[role="img"] .target').count()).toBe(1);
    expect(await i2.locator('tbody tr').allTextContents()).toEqual([
      expect.stringMatching(/^2027-03-01\s*12\s*50\s%\s*50\s%$/),
      expect.stringMatching(/^2027-04-01\s*22\s*100\s%\s*50\s%$/),
    ]);
    expect(await i3.locator('tbody tr').allTextContents()).toEqual([
      expect.stringMatching(/^2027-03-01\s*12\s*50\s%\s*60\s%$/),
      expect.stringMatching(/^2027-04-01\s*11\s*100\s%\s*60\s%$/),
    ]);
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(existsSync(await keepScreenshot(page, 'barometer-dashboard-fr'))).toBe(true);

    // One organisation, chosen with the form (no script: a GET).
    await page.selectOption('#organisation', 'RAMQ');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    expect(await page.locator('section[data-indicator="I3"] tbody tr').allTextContents()).toEqual([
      expect.stringMatching(/^2027-04-01\s*11\s*100\s%\s*60\s%$/),
    ]);

    await Promise.all([page.waitForNavigation(), page.click('a.lang')]);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.locator('h1').textContent()).toBe('Une fois barometer');
    expect(await page.locator('section[data-indicator="I2"] .target-text').textContent()).toMatch(
      /Target: 50%/,
    );
    expect(await page.locator('#organisation').inputValue()).toBe('RAMQ');
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(existsSync(await keepScreenshot(page, 'barometer-dashboard-en'))).toBe(true);
    await context.close();
  });
});
