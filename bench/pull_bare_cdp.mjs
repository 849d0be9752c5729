// bench/pull_bare_cdp.mjs: does Playwright's instrumentation of the owner worker slow the pull?
// Playwright attaches to every dedicated worker (Runtime.enable, its Network domain: events for
// every fetch), and every browser benchmark here drives Chromium through it. This runs the
// package's initial pull of --products products (browser.mjs --only pull's workload, one hub,
// the built dist/) alternately (a) through Playwright (e2e/chromium.mjs) and (b) with the SAME
// Chromium command line (read from the Playwright-launched browser process, its
// --remote-debugging-pipe swapped for --remote-debugging-port=0) driven by a bare CDP client
// that only opens the page and evaluates in it, never attaching to the worker. A new persistent
// profile, device and store each time. Prints each pull's time and the owner's split; asserts
// nothing. Node 20 needs --experimental-websocket for its WebSocket client:
//   node --experimental-websocket bench/pull_bare_cdp.mjs [--rounds 5] [--products 100000]
// Needs: scripts/build-package.sh (dist/), scripts/build-native.sh (build/tillsync-server).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from '../e2e/chromium.mjs';
import { repoRoot as repo } from '../e2e/static_server.mjs';
import { startServer, HubClient, tempDir } from '../tests/server/hub_harness.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const ROUNDS = opt('rounds', 5);
const PRODUCTS = opt('products', 100000);
if (typeof WebSocket === 'undefined') throw new Error('run with node --experimental-websocket (Node 20)');
const site = tempDir('bare-cdp-site');
fs.mkdirSync(path.join(site, 'tillsync'));
for (const f of ['index.js', 'worker.js', 'tillsync.wasm']) fs.copyFileSync(path.join(repo, 'dist', f), path.join(site, 'tillsync', f));
fs.copyFileSync(path.join(repo, 'e2e/store_page.html'), path.join(site, 'index.html'));
fs.copyFileSync(path.join(repo, 'e2e/store_page.mjs'), path.join(site, 'store_page.mjs'));
const hubDir = tempDir('bare-cdp-hub');
const server = await startServer({ dir: hubDir, args: ['--static', site] });
const hub = new HubClient(server);
const shop = await hub.createShop('bare CDP shop');
for (let i = 0; i < PRODUCTS; i += 1000) {
  await hub.addProducts(Array.from({ length: Math.min(1000, PRODUCTS - i) }, (_, k) => ({ id: `p-${i + k}`, name: `Product ${i + k}`, price: 100 + ((i + k) % 5000), tax_bp: (i + k) % 3 ? 700 : 1900 })));
}
const pullJs = (creds, name) => `(async () => {
  await new Promise((r) => { const t = setInterval(() => { if (window.ready) { clearInterval(t); r(); } }, 10); });
  await window.openTill({ name: ${JSON.stringify(name)}, hub: ${JSON.stringify(creds)}, syncOnOpen: false, writeDebounceMs: 1e9, syncIntervalMs: 0 });
  const t0 = performance.now();
  await window.store.sync();
  const ms = performance.now() - t0;
  const d = await window.store._c.call('diagnostics');
  await window.store.close();
  return JSON.stringify({ ms, network: d.lastCycle.networkMs, engine: d.lastCycle.engineMs, first: d.lastCycle.firstPageMs });
})()`;
async function creds(label) {
  const device = await hub.registerDevice(shop.shop_token, label);
  return { url: server.url, shopId: device.reg.shop_id, deviceId: device.reg.device_id, deviceToken: device.reg.device_token, receiptPrefix: device.reg.receipt_prefix };
}

// Playwright's command line, read from the running browser.
let cmdline = null;
async function viaPlaywright(round) {
  const prof = fs.mkdtempSync(path.join(os.tmpdir(), 'bare-cdp-pw-'));
  const ctx = await launchChromium(prof);
  if (!cmdline) {
    const pids = execFileSync('pgrep', ['-f', `user-data-dir=${prof}`], { encoding: 'utf8' }).trim().split('\n');
    for (const pid of pids) {
      const c = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (c.length > 1 && !c.some((a) => a.startsWith('--type='))) cmdline = c;
    }
  }
  const page = await ctx.newPage();
  await page.goto(server.url + '/');
  const r = JSON.parse(await page.evaluate(pullJs(await creds(`pw ${round}`), `pw-${round}`)));
  await ctx.close();
  fs.rmSync(prof, { recursive: true, force: true });
  return r;
}
async function viaBareCdp(round) {
  const prof = fs.mkdtempSync(path.join(os.tmpdir(), 'bare-cdp-raw-'));
  const args = cmdline.slice(1).filter((a) => !a.startsWith('--remote-debugging-pipe') && !a.startsWith('--user-data-dir') && a !== 'about:blank')
    .concat([`--user-data-dir=${prof}`, '--remote-debugging-port=0', 'about:blank']);
  const child = spawn(cmdline[0], args, { stdio: 'ignore' });
  try {
    return await pullOverCdp(round, child, prof);
  } finally {
    // Also when the pull failed: no browser or profile left behind.
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(prof, { recursive: true, force: true });
  }
}
async function pullOverCdp(round, child, prof) {
  let port = null;
  for (let i = 0; i < 200 && !port; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try { port = fs.readFileSync(path.join(prof, 'DevToolsActivePort'), 'utf8').split('\n'); } catch {}
  }
  const ws = new WebSocket(`ws://127.0.0.1:${port[0]}${port[1]}`);
  await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
  let id = 0; const pending = new Map();
  ws.onmessage = (m) => { const msg = JSON.parse(m.data); if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); } };
  const send = (method, params = {}, sessionId) => new Promise((r) => { const k = ++id; pending.set(k, r); ws.send(JSON.stringify({ id: k, method, params, ...(sessionId ? { sessionId } : {}) })); });
  const { result: { targetId } } = await send('Target.createTarget', { url: server.url + '/' });
  const { result: { sessionId } } = await send('Target.attachToTarget', { targetId, flatten: true });
  for (let i = 0; i < 500; i++) {  // until the page has loaded (store_page.mjs sets window.ready)
    const probe = await send('Runtime.evaluate', { expression: 'window.ready === true', returnByValue: true }, sessionId);
    if (probe.result?.result?.value === true) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const c = await creds(`raw ${round}`);
  const ev = await send('Runtime.evaluate', { expression: pullJs(c, `raw-${round}`), awaitPromise: true, returnByValue: true }, sessionId);
  if (!ev.result || ev.result.exceptionDetails) throw new Error(JSON.stringify(ev));
  const r = JSON.parse(ev.result.result.value);
  const exited = new Promise((res) => child.once('exit', res));
  await send('Browser.close');
  ws.close();
  await exited;
  return r;
}
const f = (x) => (x / 1000).toFixed(2);
const line = (name, r) => console.log(`${name}: ${f(r.ms)} s (network ${f(r.network)} s, first page ${f(r.first)} s, engine ${f(r.engine)} s) load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`## pull_bare_cdp -- ${new Date().toISOString()} -- ${PRODUCTS} products, ${ROUNDS} rounds -- load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
await viaPlaywright('warm');  // learns the command line; not printed
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? [['bare CDP', viaBareCdp], ['Playwright', viaPlaywright]] : [['Playwright', viaPlaywright], ['bare CDP', viaBareCdp]];
  for (const [name, fn] of order) line(name, await fn(round));
}
console.log('chromium args:', cmdline.slice(1).join(' '));
await server.stop();
fs.rmSync(site, { recursive: true, force: true });
fs.rmSync(hubDir, { recursive: true, force: true });
process.exit(0);
