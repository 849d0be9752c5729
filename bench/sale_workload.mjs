// bench/sale_workload.mjs: the workload shared by the browser bench (bench/browser.worker.mjs)
// and the CPU bench of wasm builds (bench/wasm_cpu.mjs): the same 1,000 products, the same sale
// (RecordSale's request and, for the SQL rows, the rows it writes as literal SQL).
export const IDENTITY = { device_id: 'dev-bench', shop_id: 'shop-bench', receipt_prefix: 'B' };
export const PRODUCT_COUNT = 1000;

export function productRows(n) {
  return Array.from({ length: n }, (_, i) => [`p-${i}`, `Product ${i}`, 100 + (i % 900), i % 3 ? 700 : 1900, 1]);
}

// The rows a sale writes, as SQL with literal values, mirroring what the engine's RecordSale
// writes (core/device.cc): the order, 3 lines, a payment, 3 stock movements, each with its
// _ts_rows sync metadata, the shop checksum, the device's counters in _ts_kv and the outbox
// entry holding the operation's JSON. One BEGIN IMMEDIATE ... COMMIT.
export function saleSql(i) {
  const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
  const t = 1_700_000_000_000 + i;
  const order = `o-${i}`;
  const hlc = `0${t.toString(16).padStart(12, '0')}.0000.${IDENTITY.device_id}`;
  const meta = (tbl, id) => `INSERT OR REPLACE INTO _ts_rows (tbl, id, scope, seq, version, clocks, hash) VALUES (${q(tbl)}, ${q(id)}, 'shop-bench', 0, 0, ${q(`{"*":"${hlc}"}`)}, ${1234567 + i});`;
  const lines = [];
  const changes = [];
  for (let k = 0; k < 3; k++) {
    const pid = `p-${(i * 3 + k) % PRODUCT_COUNT}`;
    lines.push(`INSERT OR REPLACE INTO order_lines (id, order_id, shop_id, product_id, name, qty, unit_price_minor, tax_minor, line_total_minor) VALUES (${q(`l-${i}-${k}`)}, ${q(order)}, 'shop-bench', ${q(pid)}, ${q(`Product ${pid}`)}, 1, 250, 48, 250);`, meta('order_lines', `l-${i}-${k}`));
    lines.push(`INSERT OR REPLACE INTO stock_movements (id, shop_id, product_id, qty_delta, kind, ref_id, created_at) VALUES (${q(`m-${i}-${k}`)}, 'shop-bench', ${q(pid)}, -1, 'sale', ${q(order)}, ${t});`, meta('stock_movements', `m-${i}-${k}`));
    changes.push({ table: 'order_lines', id: `l-${i}-${k}`, values: { order_id: order, product_id: pid, qty: 1, unit_price_minor: 250, tax_minor: 48, line_total_minor: 250 } });
    changes.push({ table: 'stock_movements', id: `m-${i}-${k}`, values: { product_id: pid, qty_delta: -1, kind: 'sale', ref_id: order, created_at: t } });
  }
  const op = JSON.stringify({ seq: i + 1, hlc, wall: t, changes });
  return ['BEGIN IMMEDIATE;',
    `INSERT OR REPLACE INTO _ts_kv (key, value) VALUES ('row_counter', ${i * 8 + 8}), ('receipt_counter', ${i + 1});`,
    `INSERT OR REPLACE INTO sales_orders (id, shop_id, device_id, receipt_no, status, subtotal_minor, tax_minor, total_minor, currency, created_at) VALUES (${q(order)}, 'shop-bench', 'dev-bench', ${q(`B-${String(i + 1).padStart(6, '0')}`)}, 'completed', 750, 144, 894, 'EUR', ${t});`,
    meta('sales_orders', order),
    ...lines,
    `INSERT OR REPLACE INTO payments (id, order_id, shop_id, method, amount_minor, tendered_minor, change_minor) VALUES (${q(`pay-${i}`)}, ${q(order)}, 'shop-bench', 'cash', 894, 1000, 106);`,
    meta('payments', `pay-${i}`),
    `INSERT OR REPLACE INTO _ts_checksum (scope, sum) VALUES ('shop-bench', ${i * 7});`,
    `INSERT INTO _ts_outbox (seq, op, created_at) VALUES (${i + 1}, ${q(op)}, ${t});`,
    `INSERT OR REPLACE INTO _ts_kv (key, value) VALUES ('next_seq', ${i + 2}), ('hlc', ${q(hlc)});`,
    'COMMIT;'].join('\n');
}

export const SALE = (i) => ({ lines: [0, 1, 2].map((k) => ({ product_id: `p-${(i * 3 + k) % PRODUCT_COUNT}`, qty: 1 })),
  payments: [{ method: 'cash', tendered_minor: 100000 }] });

