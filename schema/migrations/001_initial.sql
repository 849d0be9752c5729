-- tillsync schema version 1: the POS tables and the sync bookkeeping.
-- Every replicated table has a TEXT primary key `id` chosen by the writer (never an autoincrement
-- that two offline devices could both pick). Money is INTEGER minor units (cents); there is no
-- REAL column anywhere. Merge rules and scopes of these tables are declared once, in
-- core/table_spec.cc; a test checks that declaration against this file.

-- Catalog and identity ----------------------------------------------------------------------
CREATE TABLE shops (
  id TEXT PRIMARY KEY NOT NULL,
  shop_id TEXT NOT NULL,              -- equal to id: a shop row is scoped to its own shop
  name TEXT NOT NULL,
  currency TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE devices (
  id TEXT PRIMARY KEY NOT NULL,
  shop_id TEXT NOT NULL,
  name TEXT NOT NULL,
  receipt_prefix TEXT NOT NULL,       -- unique per shop; receipt numbers are prefix-counter
  created_at INTEGER NOT NULL
);
CREATE TABLE categories (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  sort_order INTEGER NOT NULL,
  active INTEGER NOT NULL,
  origin_shop_id TEXT,                -- the seeds' tracking columns: who created the row,
  last_modified_shop_id TEXT,         -- who changed it last, and when (device wall time, kept as
  last_modified_at INTEGER            -- data for people; never used for ordering)
);
CREATE TABLE products (
  id TEXT PRIMARY KEY NOT NULL,
  category_id TEXT,
  name TEXT NOT NULL,
  sku TEXT,
  barcode TEXT,
  price_minor INTEGER NOT NULL,
  tax_rate_bp INTEGER NOT NULL,       -- basis points: 2000 = 20.00 %
  active INTEGER NOT NULL,
  origin_shop_id TEXT,
  last_modified_shop_id TEXT,
  last_modified_at INTEGER
);
CREATE INDEX products_by_barcode ON products(barcode);
CREATE INDEX products_by_category ON products(category_id);

-- Shop data ----------------------------------------------------------------------------------
CREATE TABLE customers (
  id TEXT PRIMARY KEY NOT NULL,
  shop_id TEXT NOT NULL,
  name TEXT NOT NULL,
  phone TEXT,
  email TEXT,
  notes TEXT
);
CREATE TABLE sales_orders (
  id TEXT PRIMARY KEY NOT NULL,
  shop_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  receipt_no TEXT NOT NULL,
  status TEXT NOT NULL,               -- completed -> voided | refunded, never back
  customer_id TEXT,
  subtotal_minor INTEGER NOT NULL,
  tax_minor INTEGER NOT NULL,
  total_minor INTEGER NOT NULL,
  currency TEXT NOT NULL,
  created_at INTEGER NOT NULL         -- device wall time, printed on the receipt
);
CREATE INDEX sales_orders_by_shop_time ON sales_orders(shop_id, created_at);
CREATE TABLE order_lines (
  id TEXT PRIMARY KEY NOT NULL,
  order_id TEXT NOT NULL,
  shop_id TEXT NOT NULL,
  product_id TEXT NOT NULL,
  name TEXT NOT NULL,                 -- product name at the time of sale
  qty INTEGER NOT NULL,
  unit_price_minor INTEGER NOT NULL,
  tax_minor INTEGER NOT NULL,
  line_total_minor INTEGER NOT NULL   -- qty * unit_price_minor, tax excluded
);
CREATE INDEX order_lines_by_order ON order_lines(order_id);
CREATE TABLE payments (
  id TEXT PRIMARY KEY NOT NULL,
  order_id TEXT NOT NULL,
  shop_id TEXT NOT NULL,
  method TEXT NOT NULL,               -- cash | card | other
  amount_minor INTEGER NOT NULL,
  tendered_minor INTEGER NOT NULL,
  change_minor INTEGER NOT NULL
);
CREATE INDEX payments_by_order ON payments(order_id);
CREATE TABLE expenses (
  id TEXT PRIMARY KEY NOT NULL,
  shop_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  description TEXT NOT NULL,
  amount_minor INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
-- Stock is never a stored number: on-hand is the sum of these movements.
CREATE TABLE stock_movements (
  id TEXT PRIMARY KEY NOT NULL,
  shop_id TEXT NOT NULL,
  product_id TEXT NOT NULL,
  qty_delta INTEGER NOT NULL,
  kind TEXT NOT NULL,                 -- receipt | adjustment | sale | void | refund
  ref_id TEXT,                        -- the order for sale/void/refund movements
  created_at INTEGER NOT NULL
);
CREATE INDEX stock_movements_by_product ON stock_movements(shop_id, product_id);
CREATE VIEW stock_on_hand AS
  SELECT shop_id, product_id, SUM(qty_delta) AS on_hand, SUM(qty_delta) < 0 AS negative
  FROM stock_movements GROUP BY shop_id, product_id;

-- Sync bookkeeping (never replicated) ---------------------------------------------------------
-- One meta row per replicated row: its scope ('' = catalog, else the shop id), the hub sequence
-- of its latest change (pull cursor order), the hub version (optimistic check for manual rows),
-- per-column clocks for last-writer-wins, and the row's hash for the incremental checksum.
CREATE TABLE _ts_rows (
  tbl TEXT NOT NULL,
  id TEXT NOT NULL,
  scope TEXT NOT NULL,
  seq INTEGER NOT NULL,
  version INTEGER NOT NULL,
  clocks TEXT NOT NULL,
  hash INTEGER NOT NULL,
  PRIMARY KEY (tbl, id)
) WITHOUT ROWID;
CREATE INDEX _ts_rows_by_scope_seq ON _ts_rows(scope, seq);
-- Sum (mod 2^64) of the hashes of every row of a scope, kept up to date by every row write.
CREATE TABLE _ts_checksum (scope TEXT PRIMARY KEY NOT NULL, sum INTEGER NOT NULL) WITHOUT ROWID;
-- Small named values: identity, sequence, clock, cursor, counters, statistics.
CREATE TABLE _ts_kv (key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;
-- Device side: operations not yet acknowledged, in the order they must reach the hub.
CREATE TABLE _ts_outbox (seq INTEGER PRIMARY KEY, op TEXT NOT NULL, created_at INTEGER NOT NULL);
-- Operations the hub refused, kept for a person to retry or discard.
CREATE TABLE _ts_quarantine (
  seq INTEGER PRIMARY KEY, op TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
-- Conflicts that need a person: both versions, resolvable later.
CREATE TABLE _ts_conflicts (
  id INTEGER PRIMARY KEY,
  tbl TEXT NOT NULL, row_id TEXT NOT NULL,
  mine TEXT NOT NULL, theirs TEXT NOT NULL, theirs_version INTEGER NOT NULL,
  seq INTEGER NOT NULL, created_at INTEGER NOT NULL,
  resolved_at INTEGER, resolution TEXT
);
-- Recent sync events for the debug panel; trimmed to the newest few hundred.
CREATE TABLE _ts_sync_log (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);
-- Hub side: the devices it knows and the last sequence applied from each, and the answer given
-- to every operation (so a replay gets the first answer, and a changed payload is caught).
CREATE TABLE _hub_devices (device_id TEXT PRIMARY KEY NOT NULL, shop_id TEXT NOT NULL, last_seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE _hub_ops (
  device_id TEXT NOT NULL, seq INTEGER NOT NULL, hash INTEGER NOT NULL, answer TEXT NOT NULL,
  PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
