// chromium.mjs: launches Debian's Chromium through playwright-core (Playwright's own browser
// download cannot work here: no internet). Always a persistent profile: Playwright's default
// newContext() is off-the-record, where OPFS is not on disk and every access-handle call is
// several times slower, so neither durability nor timings would be real.
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(profileDir) {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

// Opens `pagePath` and waits until its worker said it is ready (window.ready) or failed.
export async function openWorkerPage(context, baseUrl, pagePath) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(baseUrl + pagePath);
  await page.waitForFunction(() => window.ready === true || window.initError, null, { timeout: 60_000 });
  const initError = await page.evaluate(() => window.initError || null);
  if (initError) throw new Error(`worker failed to start: ${initError} ${errors.join(' | ')}`);
  return page;
}
