// Harness for the POS end-to-end tests: builds web/dist, starts the real hub binary on a random
// 127.0.0.1 port serving it, drives tills (one persistent Chromium profile = one device) through
// the UI like a cashier, and reads the HUB's own records back through its HTTP API (an auditor
// device of the shop pulls everything the hub holds for that shop; operator routes for the
// rest). Not a test file itself (no .test.mjs suffix).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from './chromium.mjs';
import { HubClient, startServer, request } from '../tests/server/hub_harness.mjs';
import { startProxy } from './pos_proxy.mjs';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const WEB_DIST = path.join(ROOT, 'web', 'dist');
export const SHOTS = path.join(ROOT, 'test-results', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// A 10-inch tablet held landscape.
export const VIEWPORT = { width: 1280, height: 800 };

let built = false;
export function buildWeb() {
  if (built || process.env.TILLSYNC_E2E_SKIP_BUILD) return;
  execFileSync('bash', [path.join(ROOT, 'scripts', 'build-web.sh')], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  built = true;
}

export function tempDir(label) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tillsync-pos-${label}-`));
}

// The test catalog: two categories, products with barcodes; prices in cents, tax in basis points.
export const CATEGORIES = [
  { id: 'cat-drinks', name: 'Drinks', sort_order: 1 },
  { id: 'cat-bakery', name: 'Bakery', sort_order: 2 },
];
export const PRODUCTS = [
  { id: 'p-coffee', name: 'Coffee', price: 250, tax_bp: 1900, barcode: '4006381333931', category: 'cat-drinks' },
  { id: 'p-tea', name: 'Green tea', price: 199, tax_bp: 1900, barcode: '4006381333948', category: 'cat-drinks' },
  { id: 'p-juice', name: 'Orange juice', price: 399, tax_bp: 700, barcode: '4006381333955', category: 'cat-drinks' },
  { id: 'p-bagel', name: 'Bagel', price: 320, tax_bp: 700, barcode: '4006381333962', category: 'cat-bakery' },
  { id: 'p-croissant', name: 'Croissant', price: 185, tax_bp: 700, barcode: '4006381333979', category: 'cat-bakery' },
  { id: 'p-muffin', name: 'Blueberry muffin', price: 275, tax_bp: 700, barcode: '4006381333986', category: 'cat-bakery' },
];
export const byId = Object.fromEntries(PRODUCTS.map((p) => [p.id, p]));

/** The totals the engine must compute for `lines` ([{productId, qty}]), from the catalog above. */
export function expectedTotals(lines, prices = {}) {
  let subtotal = 0; let tax = 0;
  for (const { productId, qty } of lines) {
    const p = byId[productId];
    const lineTotal = qty * (prices[productId] ?? p.price);
    subtotal += lineTotal;
    tax += Math.floor((lineTotal * p.tax_bp + 5000) / 10000);
  }
  return { subtotal, tax, total: subtotal + tax };
}

// The hub ---------------------------------------------------------------------------------------

export class Hub {
  static async start({ args = [] } = {}) {
    buildWeb();
    const server = await startServer({ args: ['--static', WEB_DIST, ...args] });
    const hub = new Hub(server);
    await hub.addCatalog();
    return hub;
  }
  constructor(server) {
    this.server = server;
    this.client = new HubClient(server);
    this.url = server.url;
    this.operatorToken = server.operatorToken;
    this.auditors = new Map();
  }
  stop() { return this.server.stop(); }

  async addCatalog() {
    const changes = [
      ...CATEGORIES.map((c) => ({ table: 'categories', id: c.id, values: { name: c.name, sort_order: c.sort_order, active: 1 } })),
      ...PRODUCTS.map((p) => ({ table: 'products', id: p.id, values: { name: p.name, price_minor: p.price,
        tax_rate_bp: p.tax_bp, active: 1, barcode: p.barcode, category_id: p.category } })),
    ];
    const r = await this.client.post('/v1/admin/catalog', this.operatorToken, { changes });
    assert.equal(r.status, 200, `admin catalog: ${r.text}`);
  }

  async createShop(name) { return this.client.createShop(name, 'EUR'); }

  async setMinSchemaVersion(v) {
    const r = await this.client.post('/v1/admin/min-schema-version', this.operatorToken, { min_schema_version: v });
    assert.equal(r.status, 200, `min schema: ${r.text}`);
    return r.json;
  }

  async stats() { return this.client.stats(); }

  /**
   * Everything the hub holds for a shop, read through the hub's pull route with a device token of
   * that shop (an "auditor" device registered once per shop token): {rows, orders, lines,
   * movements, customers, products, stock(productId)}.
   */
  async audit(shopToken) {
    let auditor = this.auditors.get(shopToken);
    if (!auditor) {
      auditor = await this.client.registerDevice(shopToken, 'Auditor (e2e)');
      this.auditors.set(shopToken, auditor);
    }
    const { rows, checksum } = await auditor.pullAll(0);
    const of = (t) => [...rows.values()].filter((r) => r.table === t);
    const movements = of('stock_movements');
    return {
      rows, checksum, shopId: auditor.shopId,
      orders: of('sales_orders'), lines: of('order_lines'), payments: of('payments'), movements,
      customers: of('customers'), products: of('products'),
      stock: (productId) => movements.filter((m) => m.values.product_id === productId)
        .reduce((s, m) => s + m.values.qty_delta, 0),
    };
  }
}

// A till: one Chromium profile (one device) driven through the UI ------------------------------

// Each profile reaches the hub through its own loopback proxy (pos_proxy.mjs), kept for the
// life of the test process so a relaunched profile finds the same origin (its OPFS database and
// service worker are per origin). Going "offline" drops the proxy's connections as well as
// emulating offline in the browser: Playwright's emulation does not reach the service worker's
// Background Sync, which would otherwise keep uploading from an "offline" till.
const networks = new Map();
async function networkFor(profile, hubUrl) {
  let proxy = networks.get(profile);
  if (!proxy) {
    proxy = await startProxy(hubUrl);
    proxy.server.unref();  // never keeps a finished test file's process alive
    networks.set(profile, proxy);
  }
  return proxy;
}

export class Till {
  /**
   * Opens a till in a persistent profile (its own OPFS, service worker and identity), served by
   * the hub at `hubUrl` through the profile's own proxy (or directly, `direct: true`, when the
   * caller runs its own proxy). `offline`: the browser starts with no network at all.
   */
  static async launch(hubUrl, { profile = tempDir('till'), offline = false, name = 'till', direct = false } = {}) {
    const proxy = direct ? null : await networkFor(profile, hubUrl);
    proxy?.setDown(offline);
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: VIEWPORT, offline,
      serviceWorkers: 'allow',
    });
    const till = new Till(context, proxy ? proxy.url : hubUrl, profile, name);
    till.proxy = proxy;
    await till.open();
    return till;
  }

  constructor(context, baseUrl, profile, name) {
    this.context = context;
    this.baseUrl = baseUrl;
    this.profile = profile;
    this.name = name;
    this.errors = [];
  }

  async open() {
    this.page = this.context.pages()[0] ?? await this.context.newPage();
    this.page.on('pageerror', (e) => this.errors.push(String(e)));
    this.page.on('console', (m) => { if (m.type() === 'error') this.errors.push(`console: ${m.text()}`.slice(0, 300)); });
    await this.page.goto(`${this.baseUrl}/`);
    await this.waitReady();
    return this.page;
  }

  async waitReady() {
    await this.page.waitForFunction(() => window.__tillsyncReady === true || document.querySelector('.boot-error'),
      null, { timeout: 60_000 });
    const bootError = await this.page.evaluate(() => document.querySelector('.boot-error')?.textContent ?? null);
    if (bootError) throw new Error(`${this.name}: the app could not start: ${bootError} ${this.errors.join(' | ')}`);
  }

  async reload() {
    await this.page.reload();
    await this.waitReady();
  }

  async close() { await this.context.close().catch(() => {}); }

  async setOffline(offline) {
    this.proxy?.setDown(offline);
    await this.context.setOffline(offline);
  }

  tid(id) { return this.page.locator(`[data-testid="${id}"]`); }

  async shot(name) {
    fs.mkdirSync(SHOTS, { recursive: true });
    // A passing toast would hide part of the screen; it goes away by itself within seconds.
    await this.tid('toast').waitFor({ state: 'detached', timeout: 5000 }).catch(() => {});
    await this.page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
    // A JPEG beside it, small enough to commit under docs/screenshots for the README.
    await this.page.screenshot({ path: path.join(SHOTS, `${name}.jpg`), type: 'jpeg', quality: 80 });
  }

  // First run ----------------------------------------------------------------------------------
  async createShop({ operatorToken, shopName, deviceName = 'Front till', shotName }) {
    await this.tid('mode-create').click();
    await this.tid('setup-shopName').fill(shopName);
    await this.tid('setup-operatorToken').fill(operatorToken);
    await this.tid('setup-deviceName').fill(deviceName);
    if (shotName) await this.shot(shotName);
    await this.tid('setup-submit').click();
    await this.tid('shop-secrets').or(this.tid('setup-error')).waitFor({ timeout: 60_000 });
    if (await this.tid('setup-error').count()) throw new Error(`create shop: ${await this.tid('setup-error').textContent()}`);
    const shopToken = (await this.tid('shop-token').textContent()).trim();
    const recoveryCode = (await this.tid('recovery-code').textContent()).trim();
    await this.tid('start-selling').click();
    await this.waitForProducts();
    return { shopToken, recoveryCode };
  }

  async joinShop({ shopToken, deviceName = 'Second till' }) {
    await this.tid('mode-join').click();
    await this.tid('setup-shopToken').fill(shopToken);
    await this.tid('setup-deviceName').fill(deviceName);
    await this.tid('setup-submit').click();
    await this.waitForProducts();
  }

  async waitForProducts(n = PRODUCTS.length) {
    await this.page.waitForFunction((count) => document.querySelectorAll('[data-testid="product"]').length >= count,
      n, { timeout: 60_000 });
  }

  async deviceId() {
    await this.go('device');
    return (await this.tid('device-id').textContent()).trim();
  }

  async go(screen) {
    await this.page.evaluate((s) => { location.hash = `#/${s}`; }, screen);
  }

  // Selling ------------------------------------------------------------------------------------
  /** Rings up a sale through the UI; resolves once the receipt shows it recorded. */
  async sell(lines, { method = 'card', shots = null } = {}) {
    await this.go('sell');
    await this.waitForProducts(1);
    if (await this.tid('clear-cart').count()) await this.tid('clear-cart').click();
    for (const { productId, qty } of lines) {
      for (let i = 0; i < qty; i++) await this.page.click(`[data-testid="product"][data-product-id="${productId}"]`);
    }
    if (shots?.cart) await this.shot(shots.cart);
    await this.tid('charge').click();
    if (method === 'cash') {
      await this.tid('pay-cash').click();
      // A round note above the total, so there is change due.
      const quick = this.tid('tender-quick').first();
      await (await quick.count() ? quick : this.tid('tender-exact')).click();
    } else {
      await this.tid('pay-card').click();
    }
    if (shots?.checkout) await this.shot(shots.checkout);
    await this.tid('complete-sale').click();
    await this.tid('sale-recorded').or(this.tid('checkout-error')).waitFor({ timeout: 30_000 });
    if (await this.tid('checkout-error').count()) throw new Error(`sale failed: ${await this.tid('checkout-error').textContent()}`);
    const receiptNo = (await this.tid('receipt-no').textContent()).trim();
    const orderId = decodeURIComponent((await this.page.evaluate(() => location.hash)).split('/')[2]);
    const total = (await this.tid('receipt-total').textContent()).trim();
    if (shots?.receipt) await this.shot(shots.receipt);
    return { receiptNo, orderId, total };
  }

  // Sync ---------------------------------------------------------------------------------------
  async syncStatus() {
    const bar = this.tid('status-bar');
    return { state: await bar.getAttribute('data-state'), pending: Number(await bar.getAttribute('data-pending')) };
  }

  /** Presses "Sync now" until the till reports nothing pending and an idle, online state. */
  async syncUntilIdle({ timeout = 60_000 } = {}) {
    const until = Date.now() + timeout;
    let last;
    while (Date.now() < until) {
      last = await this.syncStatus();
      if (last.pending === 0 && last.state === 'idle') {
        // One more full cycle, so rows other devices pushed meanwhile are pulled too.
        await this.clickSyncNow();
        last = await this.syncStatus();
        if (last.pending === 0 && last.state === 'idle') return last;
      }
      await this.clickSyncNow();
      await this.page.waitForTimeout(250);
    }
    const onLine = await this.page.evaluate(() => navigator.onLine).catch(() => '?');
    throw new Error(`${this.name}: not idle after ${timeout} ms: ${JSON.stringify(last)}, page navigator.onLine=${onLine} `
      + `${this.errors.join(' | ')}`);
  }

  async clickSyncNow() {
    const button = this.tid('sync-now');
    if (await button.isEnabled()) {
      await button.click();
      // The button disables while the cycle runs; wait for it to come back.
      await this.page.waitForFunction(() => !document.querySelector('[data-testid="sync-now"]')?.disabled, null,
        { timeout: 30_000 }).catch(() => {});
    }
  }

  // Reading screens ----------------------------------------------------------------------------
  async historyReceipts() {
    return (await this.historyRows()).map((r) => r.receiptNo);
  }

  /** The sales history of the whole shop as this till lists it: [{orderId, receiptNo}]. */
  async historyRows() {
    await this.go('history');
    await this.tid('history-all').click();
    await this.tid('sales-list').waitFor();
    return this.page.$$eval('[data-testid="sale-row"]', (rows) => rows.map((r) => ({
      orderId: r.getAttribute('data-order-id'), receiptNo: r.getAttribute('data-receipt') })));
  }

  async stockOnHand(productId) {
    await this.go('stock');
    const row = this.page.locator(`[data-testid="stock-row"][data-product-id="${productId}"]`);
    await row.waitFor();
    return Number(await row.getAttribute('data-on-hand'));
  }

  async receiveStock(productId, qty) {
    await this.go('stock');
    await this.page.locator(`[data-testid="stock-row"][data-product-id="${productId}"] [data-testid="receive"]`).click();
    await this.tid('stock-qty').fill(String(qty));
    await this.tid('stock-save').click();
    await this.tid('stock-dialog').waitFor({ state: 'detached' });
  }

  async editPrice(productId, priceText) {
    await this.go('catalog');
    await this.page.locator(`[data-testid="catalog-row"][data-product-id="${productId}"] [data-testid="edit-product"]`).click();
    await this.tid('f-price').fill(priceText);
    await this.tid('f-save').click();
    await this.tid('product-form').waitFor({ state: 'detached' });
  }

  async catalogPrice(productId) {
    await this.go('catalog');
    const cell = this.page.locator(`[data-testid="catalog-row"][data-product-id="${productId}"] [data-testid="catalog-price"]`);
    await cell.waitFor();
    return (await cell.textContent()).trim();
  }
}

/**
 * A fresh hub with one shop and two tills of it: A creates the shop ("Till A"), B joins it
 * ("Till B"). Returns {hub, a, b, shopToken, close()}; close() stops all three, whatever exists.
 */
export async function startTwoTillsOfOneShop(shopName) {
  const shop = { hub: null, a: null, b: null, shopToken: null };
  shop.close = async () => {
    await shop.a?.close();
    await shop.b?.close();
    await shop.hub?.stop();
  };
  try {
    shop.hub = await Hub.start();
    shop.a = await Till.launch(shop.hub.url, { name: 'A' });
    ({ shopToken: shop.shopToken } = await shop.a.createShop({ operatorToken: shop.hub.operatorToken, shopName, deviceName: 'Till A' }));
    shop.b = await Till.launch(shop.hub.url, { name: 'B' });
    await shop.b.joinShop({ shopToken: shop.shopToken, deviceName: 'Till B' });
  } catch (e) {
    await shop.close();  // the caller never gets the handle, so nothing else would stop them
    throw e;
  }
  return shop;
}

/** "€2.50" -> 250, as the app formats EUR in the en-US locale of headless Chromium. */
export function centsOf(text) {
  const m = /(-?)[^\d-]*([\d,]+)\.(\d\d)/.exec(text);
  assert.ok(m, `not an amount: ${text}`);
  return (m[1] ? -1 : 1) * (Number(m[2].replace(/,/g, '')) * 100 + Number(m[3]));
}

// A browser we start ourselves, so a test can SIGKILL its process -------------------------------

/**
 * Starts Chromium on `profile` with a DevTools port, connects Playwright to it, and returns
 * {browser, context, child, kill()}. kill() sends SIGKILL to the browser's main process (by its
 * pid), the way a crash or a power cut ends it: no unload handlers, no flush.
 */
export async function spawnBrowser(profile) {
  const child = spawn(CHROMIUM, [...CHROMIUM_ARGS, '--headless', `--user-data-dir=${profile}`,
    '--remote-debugging-port=0', `--window-size=${VIEWPORT.width},${VIEWPORT.height}`, 'about:blank'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const lines = readline.createInterface({ input: child.stderr });
  const ws = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('chromium did not print its DevTools endpoint')), 30_000);
    lines.on('line', (line) => {
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(line);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`chromium exited ${code}`)); });
  });
  const browser = await chromium.connectOverCDP(ws);
  const context = browser.contexts()[0];
  return {
    browser, context, child,
    async kill() {
      child.kill('SIGKILL');
      await exited;
      await browser.close().catch(() => {});
    },
  };
}

export { request };
