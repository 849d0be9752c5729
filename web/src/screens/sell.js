// Selling: product grid by category, search, barcode entry, and the cart.
//
// Barcode scanners type digits and Enter into whatever has focus. The scan field takes them when
// it has focus; when focus is elsewhere (on the page after tapping a tile), keystrokes are
// collected into the same field, so a scan never gets lost and tapping never pops up the
// on-screen keyboard.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { useQuery } from '../lib/hooks.js';
import { formatMoney } from '../lib/money.js';
import { addToCart, cartTotals, setQty } from '../lib/cart.js';
import { Checkout } from './checkout.js';

const PRODUCTS_SQL = `SELECT id, name, price_minor, tax_rate_bp, barcode, sku, category_id
  FROM products WHERE active = 1 ORDER BY name COLLATE NOCASE`;
const CATEGORIES_SQL = 'SELECT id, name FROM categories WHERE active = 1 ORDER BY sort_order, name';
const STOCK_SQL = 'SELECT product_id, on_hand FROM stock_on_hand WHERE shop_id = ?1';
// A modest tablet lays out a few hundred tiles quickly, not thousands: a big catalog is shown a
// page at a time and found by search, category or barcode.
const MAX_TILES = 120;

function isEditable(el) {
  return el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

export function useCatalog(store) {
  const products = useQuery(store, PRODUCTS_SQL, [], ['products']);
  const categories = useQuery(store, CATEGORIES_SQL, [], ['categories']);
  const stock = useQuery(store, STOCK_SQL, [store.identity.shopId], ['stock_movements']);
  const byId = useMemo(() => new Map(products.rows.map((p) => [p.id, p])), [products.rows]);
  const onHand = useMemo(() => new Map(stock.rows.map((s) => [s.product_id, s.on_hand])), [stock.rows]);
  return { products: products.rows, loading: products.loading, categories: categories.rows, byId, onHand };
}

export function Sell({ store, status, cart, setCart, onSold, toast, reportError }) {
  const currency = store.identity.currency;
  const { products, loading, categories, byId, onHand } = useCatalog(store);
  const [category, setCategory] = useState('all');
  const [query, setQuery] = useState('');
  const [checkingOut, setCheckingOut] = useState(false);
  const scanRef = useRef(null);

  const q = query.trim().toLowerCase();
  const shown = products.filter((p) => (category === 'all' || p.category_id === category)
    && (!q || p.name.toLowerCase().includes(q) || p.barcode === q || (p.sku ?? '').toLowerCase() === q));

  const add = (p) => setCart((c) => addToCart(c, p.id));

  const submitScan = (raw) => {
    const code = raw.trim();
    if (!code) return;
    const lower = code.toLowerCase();
    const hit = products.find((p) => p.barcode === code) ?? products.find((p) => (p.sku ?? '').toLowerCase() === lower)
      ?? (shown.length === 1 ? shown[0] : null);
    if (hit) {
      add(hit);
      setQuery('');
      toast(`Added ${hit.name}`);
    } else {
      toast(`No product with code ${code}`, 'bad');
    }
  };

  // Keystrokes while nothing editable has focus go to the scan field (see the header comment).
  useEffect(() => {
    if (checkingOut) return undefined;
    const onKey = (e) => {
      if (isEditable(document.activeElement) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'Enter') {
        const value = scanRef.current?.value ?? '';
        if (value) { e.preventDefault(); submitScan(value); }
      } else if (e.key.length === 1) {
        e.preventDefault();
        setQuery((s) => s + e.key);
      } else if (e.key === 'Backspace') {
        setQuery((s) => s.slice(0, -1));
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [products, shown, checkingOut]);

  const totals = cartTotals(cart, byId);
  const missing = cart.filter((l) => !byId.has(l.productId));

  return html`
    <div class="sell">
      <section class="catalog-pane">
        <div class="scan-row">
          <input ref=${scanRef} class="scan" type="search" inputmode="search" enterkeyhint="enter"
            data-testid="scan" placeholder="Scan barcode or search products" value=${query}
            autocomplete="off" spellcheck=${false}
            onInput=${(e) => setQuery(e.currentTarget.value)}
            onKeyDown=${(e) => { if (e.key === 'Enter') { e.preventDefault(); submitScan(e.currentTarget.value); } }} />
          ${query && html`<button class="btn" onClick=${() => setQuery('')}>Clear</button>`}
        </div>
        <nav class="categories" aria-label="Categories">
          <button class=${category === 'all' ? 'cat active' : 'cat'} onClick=${() => setCategory('all')}>All</button>
          ${categories.map((c) => html`
            <button key=${c.id} class=${category === c.id ? 'cat active' : 'cat'}
              onClick=${() => setCategory(c.id)}>${c.name}</button>`)}
        </nav>
        <div class="grid" data-testid="product-grid">
          ${loading && html`<p class="muted">Loading products…</p>`}
          ${!loading && products.length === 0 && (status?.state === 'syncing' && !status?.lastSyncedAt ? html`
            <div class="empty" data-testid="catalog-downloading">
              <p><strong>Downloading the catalog…</strong></p>
              <p>Products appear here when the first download is complete (progress below).</p>
            </div>` : html`
            <div class="empty">
              <p><strong>No products yet.</strong></p>
              <p>They arrive with the first sync, or add them under Catalog.</p>
            </div>`)}
          ${shown.slice(0, MAX_TILES).map((p) => {
            const stock = onHand.get(p.id);
            return html`
              <button key=${p.id} class="tile" data-testid="product" data-product-id=${p.id}
                  onMouseDown=${(e) => e.preventDefault()} onClick=${() => add(p)}>
                <span class="tile-name">${p.name}</span>
                <span class="tile-foot">
                  <span class="tile-price">${formatMoney(p.price_minor, currency)}</span>
                  ${stock !== undefined && html`
                    <span class=${stock < 0 ? 'tile-stock negative' : stock === 0 ? 'tile-stock zero' : 'tile-stock'}>
                      ${stock < 0 ? `${stock} (negative)` : `${stock} left`}</span>`}
                </span>
              </button>`;
          })}
          ${shown.length > MAX_TILES && html`
            <p class="more muted" data-testid="more-products">${shown.length - MAX_TILES} more products: search, scan
              or pick a category to find them.</p>`}
        </div>
      </section>
      <aside class="cart-pane" aria-label="Current sale">
        <header class="cart-head">
          <h2>Current sale</h2>
          ${cart.length > 0 && html`<button class="btn ghost" data-testid="clear-cart" onClick=${() => setCart([])}>Clear</button>`}
        </header>
        <ol class="cart-lines" data-testid="cart">
          ${totals.lines.length === 0 && html`<li class="muted cart-empty">Tap a product or scan a barcode.</li>`}
          ${totals.lines.map((l) => html`
            <li key=${l.productId} class="cart-line" data-testid="cart-line" data-product-id=${l.productId}>
              <div class="line-main">
                <span class="line-name">${l.name}</span>
                <span class="line-total">${formatMoney(l.lineTotalMinor, currency)}</span>
              </div>
              <div class="line-controls">
                <button class="qty-btn" aria-label="One less" onClick=${() => setCart((c) => setQty(c, l.productId, l.qty - 1))}>−</button>
                <span class="qty" data-testid="qty">${l.qty}</span>
                <button class="qty-btn" aria-label="One more" onClick=${() => setCart((c) => setQty(c, l.productId, l.qty + 1))}>+</button>
                <span class="muted unit">× ${formatMoney(l.unitMinor, currency)}</span>
                <button class="remove-btn" aria-label=${`Remove ${l.name}`} data-testid="remove-line"
                  onClick=${() => setCart((c) => setQty(c, l.productId, 0))}>Remove</button>
              </div>
            </li>`)}
          ${missing.length > 0 && html`<li class="warn-text">${missing.length} item(s) no longer for sale were left out.</li>`}
        </ol>
        <dl class="totals">
          <div><dt>Subtotal</dt><dd data-testid="subtotal">${formatMoney(totals.subtotalMinor, currency)}</dd></div>
          <div><dt>Tax</dt><dd data-testid="tax">${formatMoney(totals.taxMinor, currency)}</dd></div>
          <div class="grand"><dt>Total</dt><dd data-testid="total">${formatMoney(totals.totalMinor, currency)}</dd></div>
        </dl>
        <button class="btn charge" data-testid="charge" disabled=${totals.lines.length === 0}
            onClick=${() => setCheckingOut(true)}>
          Charge ${formatMoney(totals.totalMinor, currency)}
        </button>
      </aside>
      ${checkingOut && html`
        <${Checkout} store=${store} cart=${cart.filter((l) => byId.has(l.productId))} totals=${totals}
          onCancel=${() => setCheckingOut(false)} onError=${reportError}
          onDone=${(result) => { setCheckingOut(false); setCart([]); onSold(result); }} />`}
    </div>`;
}
