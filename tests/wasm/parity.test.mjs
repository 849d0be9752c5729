// Same engine, two builds: each scenario runs natively (tests/parity/parity_main.cc, with an
// in-process Hub) and here on the wasm build (browser settings, in-memory OPFS fake), fed the
// hub answers the native run recorded. Every step's result, every push and pull request byte,
// and the final canonical dump and checksum must be identical; and the device's checksum must
// equal the hub's (the replicas converged).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryDirectory } from '../../wasm/memory_access_handle.js';
import { Engine } from '../../worker/engine.js';
import { BROWSER_OPEN_OPTIONS } from '../../worker/owner.js';
import { moduleFactory } from './load_module.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const candidates = [process.env.TILLSYNC_PARITY_BIN, path.join(root, 'build', 'tillsync_parity'),
  path.join(root, 'build-w4', 'tillsync_parity')].filter(Boolean);
const BIN = candidates.find((p) => fs.existsSync(p));
const newModule = await moduleFactory();

const T0 = 1_700_000_000_000;
const product = (id, name, price, tax, extra = {}) =>
  ({ table: 'products', id, values: { name, price_minor: price, tax_rate_bp: tax, active: 1, ...extra } });

const SCENARIOS = {
  'sales, stock, voids, refunds, expenses and refusals': {
    clock: { now_ms: T0, seed: 11 },
    steps: [
      { op: 'admin', changes: [product('p-coffee', 'Coffee', 250, 1900), product('p-bagel', 'Bagel', 320, 700),
        product('p-juice', 'Juice', 399, 1900, { barcode: '4006381333931' })] },
      { op: 'sync' },
      { op: 'receive', product_id: 'p-coffee', qty: 40 },
      { op: 'clock', now_ms: T0 + 60_000 },
      { op: 'sale', sale: { lines: [{ product_id: 'p-coffee', qty: 2 }, { product_id: 'p-bagel', qty: 1 },
        { product_id: 'p-juice', qty: 3 }], payments: [{ method: 'cash', tendered_minor: 5000 }] } },
      { op: 'sale', sale: { lines: [{ product_id: 'p-juice', qty: 1 }], payments: [{ method: 'card' }], order_id: 'o-fixed' } },
      { op: 'sale', sale: { lines: [{ product_id: 'p-juice', qty: 1 }], order_id: 'o-fixed' } },
      { op: 'sale', sale: { lines: [{ product_id: 'p-bagel', qty: 4 }],
        payments: [{ method: 'card', amount_minor: 500 }, { method: 'cash', tendered_minor: 2000 }] } },
      { op: 'sale', sale: { lines: [{ product_id: 'p-none', qty: 1 }] } },
      { op: 'sale', sale: { lines: [{ product_id: 'p-coffee', qty: 1 }], payments: [{ method: 'card', amount_minor: 1 }] } },
      { op: 'void', order_id: 'o-fixed' },
      { op: 'void', order_id: 'o-fixed' },
      { op: 'expense', description: 'Milk from the corner shop', amount_minor: 389 },
      { op: 'adjust', product_id: 'p-bagel', qty: -2 },
      { op: 'write', changes: [product('p-tea', 'Tea', 180, 1900, { sku: 'TEA-1' })] },
      { op: 'write', changes: [{ table: 'customers', id: 'c-1', values: { name: 'Ada', phone: '+44 1234' } }] },
      { op: 'clock', now_ms: T0 + 120_000 },
      { op: 'sync' },
      { op: 'refund', order_id: 'o-fixed' },
      { op: 'admin', changes: [{ table: 'products', id: 'p-coffee', values: { price_minor: 275 } }] },
      { op: 'sync' },
      { op: 'query', sql: 'SELECT product_id, on_hand, negative FROM stock_on_hand ORDER BY product_id' },
      { op: 'query', sql: 'SELECT receipt_no, status, total_minor FROM sales_orders ORDER BY receipt_no' },
      { op: 'query', sql: 'SELECT name, price_minor FROM products WHERE id = ?1', params: ['p-coffee'] },
    ],
  },
  'a catalog large enough for several pull pages': {
    clock: { now_ms: T0, seed: 5 },
    steps: [
      { op: 'admin', changes: Array.from({ length: 900 }, (_, i) => product(`p-${i}`, `Product ${i}`, 100 + i, i % 3 ? 700 : 1900)) },
      { op: 'admin', changes: Array.from({ length: 900 }, (_, i) => product(`p-${900 + i}`, `Product ${900 + i}`, 50 + i, 0)) },
      { op: 'sync' },
      { op: 'sale', sale: { lines: [{ product_id: 'p-17', qty: 2 }, { product_id: 'p-1799', qty: 1 }] } },
      { op: 'admin', changes: Array.from({ length: 30 }, (_, i) => ({ table: 'products', id: `p-${i * 50}`, values: { price_minor: 999 } })) },
      { op: 'sync' },
      { op: 'query', sql: 'SELECT count(*) AS n, sum(price_minor) AS total FROM products' },
    ],
  },
};

function runNative(scenario) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillsync-parity-'));
  const file = path.join(dir, 'scenario.json');
  fs.writeFileSync(file, JSON.stringify(scenario));
  try {
    return JSON.parse(execFileSync(BIN, [file], { encoding: 'utf8', maxBuffer: 256 << 20 }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function outcome(fn) {
  try {
    const r = fn();
    return { result: r };
  } catch (e) {
    return { error: { code: e.code, message: e.message } };
  }
}

for (const [name, scenario] of Object.entries(SCENARIOS)) {
  test(`native and wasm agree: ${name}`, { skip: BIN ? false : 'tillsync_parity not built (scripts/build-native.sh)' }, async () => {
    const native = runNative(scenario);
    const M = await newModule();
    await M.installOpfsPool({ directory: new MemoryDirectory(), capacity: 6, coalesceWrites: true });
    // The native run uses the core's default batch sizes; so does this one (the bytes of each
    // request name the pull limit).
    const e = Engine.open(M, 'device.db', { ...BROWSER_OPEN_OPTIONS, push_batch: 200, pull_limit: 1000,
      identity: native.identity, clock: scenario.clock });
    let exchanges = 0;
    scenario.steps.forEach((step, i) => {
      const expected = native.steps[i];
      const label = `step ${i} (${step.op})`;
      let got = {};
      switch (step.op) {
        case 'clock': e.setClock(step.now_ms); break;
        case 'admin': break;  // a hub-side edit: reaches the device through the recorded pulls
        case 'write': got = outcome(() => e.write(step.changes)); break;
        case 'sale': got = outcome(() => e.recordSale(step.sale)); break;
        case 'void': got = outcome(() => e.voidSale(step.order_id)); break;
        case 'refund': got = outcome(() => e.refundSale(step.order_id)); break;
        case 'receive': got = outcome(() => e.receiveStock(step.product_id, step.qty)); break;
        case 'adjust': got = outcome(() => e.adjustStock(step.product_id, step.qty)); break;
        case 'expense': got = outcome(() => e.recordExpense(step.description, step.amount_minor)); break;
        case 'query': got = outcome(() => e.query(step.sql, step.params ?? [])); break;
        case 'sync': {
          e.syncStarted();
          for (const x of expected.exchanges) {
            if (x.route === 'push') {
              const { body } = e.buildPush();
              assert.equal(body, x.request, `${label}: push request bytes`);
              e.handlePushResponse(x.response);
            } else {
              const { body } = e.buildPull();
              assert.equal(body, x.request, `${label}: pull request bytes`);
              const o = e.handlePullResponse(x.response);
              assert.deepEqual({ more: o.more, rows: o.rows, remaining: o.remaining, checksum_checked: o.checksum_checked },
                x.outcome, `${label}: pull outcome`);
            }
            exchanges++;
          }
          assert.equal(e.buildPush().count, 0, `${label}: nothing left to push`);
          e.syncSucceeded();
          break;
        }
        default: assert.fail(`unknown op ${step.op}`);
      }
      if (expected.result !== undefined || expected.error !== undefined) {
        const want = expected.error ? { error: expected.error } : { result: expected.result };
        assert.deepEqual(got, want, label);
      }
    });
    assert.ok(exchanges >= 3, 'the scenario really synced');
    const dump = e.canonicalDump();
    assert.equal(dump.dump, native.device_dump, 'canonical dump');
    assert.equal(dump.checksum, native.device_checksum, 'checksum');
    assert.equal(dump.checksum, native.hub_checksum, 'the wasm replica equals the hub');
    assert.ok(dump.dump.split('\n').length > 5);
    e.close();
    M.releaseOpfsPool();
  });
}
