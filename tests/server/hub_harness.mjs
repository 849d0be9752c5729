// Test harness for the hub: starts the real `tillsync-server` binary on a random 127.0.0.1 port
// with a fresh database, talks HTTP to it with node:http (so a test controls connections and
// headers exactly), and builds valid protocol messages the way a device would (core/protocol.h,
// core/operation.h). Not a test file itself (no .test.mjs suffix).
//
// Servers cannot outlive a test run: each is started with --exit-with-stdin (it exits when this
// process's pipe to it closes, even if this process is killed) and --idle-exit-seconds, and
// every test file stops its servers in an `after` hook.
import { spawn, execFileSync } from 'node:child_process';
import { after } from 'node:test';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..', '..');
export const BIN = process.env.TILLSYNC_SERVER_BIN || path.join(ROOT, 'build', 'tillsync-server');

// Every server this file started; whatever a failed test left running is killed at the end.
const live = new Set();
after(async () => { await Promise.all([...live].map((s) => s.kill())); });

export function tempDir(label = 'hub') {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tillsync-${label}-`));
}

// Runs a CLI command of the binary; returns {code, json, stdout, stderr}.
export function cli(args) {
  try {
    const stdout = execFileSync(BIN, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, stdout, json: stdout.trim() ? JSON.parse(stdout) : null, stderr: '' };
  } catch (e) {
    let json = null;
    try { json = JSON.parse(e.stdout); } catch { /* not JSON */ }
    return { code: e.status, stdout: e.stdout ?? '', json, stderr: e.stderr ?? '' };
  }
}

// Starts a server. Resolves once it printed "listening on ...". `db` reuses a database file.
export async function startServer({ db, args = [], dir } = {}) {
  dir = dir ?? (db ? path.dirname(db) : tempDir());
  const dbPath = db ?? path.join(dir, 'hub.db');
  const child = spawn(BIN, ['serve', '--db', dbPath, '--host', '127.0.0.1', '--port', '0', '--exit-with-stdin',
    '--idle-exit-seconds', '300', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const server = { kill: async () => { child.kill('SIGKILL'); return exited; } };
  live.add(server);
  exited.then(() => live.delete(server));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const lines = readline.createInterface({ input: child.stdout });
  const printed = {};
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 20000);
    lines.on('line', (line) => {
      const m = /^([a-z ]+): (\S+)/.exec(line);
      if (m) printed[m[1]] = m[2];
      const l = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (l) { clearTimeout(timer); resolve(l[1]); }
    });
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`server exited (${code}): ${stderr}`)); });
  });
  Object.assign(server, {
    url, dir, dbPath, child, exited, printed,
    operatorToken: printed['operator token'],
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  });
  return server;
}

// One HTTP request. `agent`: pass a dedicated http.Agent to pin a connection. Resolves with
// {status, headers, text, json}; json is the parsed body when it is JSON.
export function request(url, { method = 'GET', token, body, headers = {}, agent, rawBody } = {}) {
  return new Promise((resolve, reject) => {
    const data = rawBody !== undefined ? rawBody : body === undefined ? undefined : JSON.stringify(body);
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (data !== undefined) {
      if (!('Content-Type' in h)) h['Content-Type'] = 'application/json';
      h['Content-Length'] = Buffer.byteLength(data);
    }
    const req = http.request(url, { method, headers: h, agent: agent ?? false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      // A server killed mid-answer: the response closes without 'end'.
      res.on('error', reject);
      res.on('close', () => { if (!res.complete) reject(new Error('the answer was cut off')); });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

// The client of one server, with the credentials the tests need.
export class HubClient {
  constructor(server) { this.server = server; this.url = server.url; }
  get(p, token, opts = {}) { return request(this.url + p, { ...opts, method: 'GET', token }); }
  post(p, token, body, opts = {}) { return request(this.url + p, { ...opts, method: 'POST', token, body }); }

  async createShop(name = 'Test shop', currency = 'EUR') {
    const r = await this.post('/v1/shops', this.server.operatorToken, { name, currency });
    if (r.status !== 201) throw new Error(`create shop: ${r.status} ${r.text}`);
    return r.json;
  }
  async registerDevice(shopToken, name = 'Till') {
    const r = await this.post('/v1/devices', shopToken, { name });
    if (r.status !== 201) throw new Error(`register device: ${r.status} ${r.text}`);
    return new TestDevice(this, r.json);
  }
  async stats() {
    const r = await this.get('/v1/admin/stats', this.server.operatorToken);
    if (r.status !== 200) throw new Error(`stats: ${r.status} ${r.text}`);
    return r.json;
  }
  async addProducts(products) {
    const changes = products.map((p) => ({ table: 'products', id: p.id,
      values: { name: p.name, price_minor: p.price, tax_rate_bp: p.tax_bp, active: 1,
        ...(p.barcode !== undefined ? { barcode: p.barcode } : {}),
        ...(p.category_id !== undefined ? { category_id: p.category_id } : {}) } }));
    const r = await this.post('/v1/admin/catalog', this.server.operatorToken, { changes });
    if (r.status !== 200) throw new Error(`catalog: ${r.status} ${r.text}`);
  }
}

export const PRODUCTS = [
  { id: 'p-coffee', name: 'Coffee', price: 250, tax_bp: 1900 },
  { id: 'p-bagel', name: 'Bagel', price: 320, tax_bp: 700 },
  { id: 'p-juice', name: 'Juice', price: 399, tax_bp: 1900 },
];

function hex(n, width) { return n.toString(16).padStart(width, '0'); }

// A simulated device: its id, token and sequence, building operations as core/device.cc does.
export class TestDevice {
  constructor(client, registration) {
    this.client = client;
    this.reg = registration;
    this.id = registration.device_id;
    this.token = registration.device_token;
    this.shopId = registration.shop_id;
    this.seq = 0;
    this.rowCounter = 0;
    this.lastWall = 0;
    this.logical = 0;
    this.receipts = 0;
    this.cursor = 0;
  }
  hlc(wall) {
    if (wall > this.lastWall) { this.lastWall = wall; this.logical = 0; } else { this.logical += 1; }
    return `${hex(this.lastWall, 12)}.${hex(this.logical, 4)}.${this.id}`;
  }
  rowId() { this.rowCounter += 1; return `${this.id}.${this.rowCounter}`; }
  op(changes) {
    const wall = Date.now();
    this.seq += 1;
    return { seq: this.seq, hlc: this.hlc(wall), wall, changes };
  }
  // The changes of one sale: order + lines + one cash payment + one stock movement per line.
  saleChanges(lines = [{ product: PRODUCTS[0], qty: 1 }, { product: PRODUCTS[1], qty: 2 }, { product: PRODUCTS[2], qty: 1 }]) {
    const now = Date.now();
    const orderId = this.rowId();
    this.receipts += 1;
    let subtotal = 0; let tax = 0;
    const lineChanges = []; const moves = [];
    for (const { product, qty } of lines) {
      const lineTotal = qty * product.price;
      const lineTax = Math.floor((lineTotal * product.tax_bp + 5000) / 10000);
      subtotal += lineTotal; tax += lineTax;
      lineChanges.push({ table: 'order_lines', id: this.rowId(), values: { order_id: orderId, shop_id: this.shopId,
        product_id: product.id, name: product.name, qty, unit_price_minor: product.price, tax_minor: lineTax,
        line_total_minor: lineTotal } });
      moves.push({ table: 'stock_movements', id: this.rowId(), values: { shop_id: this.shopId, product_id: product.id,
        qty_delta: -qty, kind: 'sale', ref_id: orderId, created_at: now } });
    }
    const total = subtotal + tax;
    const tendered = Math.ceil(total / 500) * 500;
    return [
      { table: 'sales_orders', id: orderId, values: { shop_id: this.shopId, device_id: this.id,
        receipt_no: `${this.reg.receipt_prefix}-${String(this.receipts).padStart(6, '0')}`, status: 'completed',
        subtotal_minor: subtotal, tax_minor: tax, total_minor: total, currency: 'EUR', created_at: now } },
      ...lineChanges,
      { table: 'payments', id: this.rowId(), values: { order_id: orderId, shop_id: this.shopId, method: 'cash',
        amount_minor: total, tendered_minor: tendered, change_minor: tendered - total } },
      ...moves,
    ];
  }
  saleOp(lines) { return this.op(this.saleChanges(lines)); }
  pushBody(ops, extra = {}) { return { v: 1, device_id: this.id, schema_version: 1, ops, ...extra }; }
  pullBody(cursor = 0, limit = 1000, extra = {}) {
    return { v: 1, device_id: this.id, schema_version: 1, cursor, limit, ...extra };
  }
  push(ops, opts = {}) { return this.client.post('/v1/push', this.token, this.pushBody(ops), opts); }
  pull(cursor = 0, limit = 1000) { return this.client.post('/v1/pull', this.token, this.pullBody(cursor, limit)); }
  // Every page from `cursor` on; returns {rows (latest version of each), cursor, checksum}.
  async pullAll(cursor = 0, into = new Map()) {
    for (;;) {
      const r = await this.pull(cursor, 1000);
      if (r.status !== 200) throw new Error(`pull: ${r.status} ${r.text}`);
      for (const row of r.json.rows) into.set(`${row.table}/${row.id}`, row);
      cursor = r.json.cursor;
      if (!r.json.more) return { rows: into, cursor, checksum: r.json.checksum };
    }
  }
}

export function rowsOf(rows, table) { return [...rows.values()].filter((r) => r.table === table); }

// Every stock/sale row a pull shows, counted by table.
export function countByTable(rows) {
  const out = {};
  for (const r of rows.values()) out[r.table] = (out[r.table] ?? 0) + 1;
  return out;
}

export function assertProblem(assert, r, status, code, label = '') {
  assert.equal(r.status, status, `${label} status (body ${r.text})`);
  assert.match(r.headers['content-type'] ?? '', /^application\/problem\+json/, `${label} content type`);
  assert.equal(r.json?.code, code, `${label} code (body ${r.text})`);
  assert.equal(r.json?.status, status, `${label} body status`);
  assert.equal(typeof r.json?.title, 'string', `${label} title`);
  assert.equal(typeof r.json?.detail, 'string', `${label} detail`);
  assert.equal(r.json?.type, `urn:tillsync:problem:${code}`, `${label} type`);
}
