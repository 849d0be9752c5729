// Stock on hand per product. Stock is never a stored number: it is the sum of this shop's
// movements (receipts of goods, adjustments, sales, voids, refunds), so two tills selling the
// same product offline converge to the exact count. Negative stock (sold more than was booked in)
// is allowed and flagged, the usual POS answer.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { useQuery } from '../lib/hooks.js';
import { describeError } from '../lib/errors.js';

const STOCK_SQL = `SELECT p.id, p.name, p.barcode, COALESCE(s.on_hand, 0) AS on_hand
  FROM products p LEFT JOIN stock_on_hand s ON s.product_id = p.id AND s.shop_id = ?1
  WHERE p.active = 1 ORDER BY (COALESCE(s.on_hand, 0) < 0) DESC, p.name COLLATE NOCASE`;

export function Stock({ store, toast }) {
  const stock = useQuery(store, STOCK_SQL, [store.identity.shopId], ['products', 'stock_movements']);
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState(null);  // {product, kind: 'receive' | 'adjust'}
  const f = filter.trim().toLowerCase();
  const rows = stock.rows.filter((r) => !f || r.name.toLowerCase().includes(f) || r.barcode === f);
  const negatives = stock.rows.filter((r) => r.on_hand < 0).length;

  return html`
    <div class="page">
      <header class="pane-head">
        <h2>Stock</h2>
        <input class="search" type="search" placeholder="Find product" value=${filter}
          onInput=${(e) => setFilter(e.currentTarget.value)} />
      </header>
      ${negatives > 0 && html`<p class="banner warn" data-testid="negative-stock-note">
        ${negatives} product${negatives === 1 ? ' has' : 's have'} negative stock: more was sold than booked in.
        Receive the delivery or adjust after a count.</p>`}
      <table class="table" data-testid="stock-table">
        <thead><tr><th>Product</th><th class="num">On hand</th><th></th></tr></thead>
        <tbody>
          ${rows.map((r) => html`
            <tr key=${r.id} data-testid="stock-row" data-product-id=${r.id} data-on-hand=${r.on_hand}
                class=${r.on_hand < 0 ? 'negative' : ''}>
              <td>${r.name}</td>
              <td class="num"><strong>${r.on_hand}</strong>${r.on_hand < 0 && html` <span class="badge bad">negative</span>`}</td>
              <td class="row-actions">
                <button class="btn" data-testid="receive" onClick=${() => setEditing({ product: r, kind: 'receive' })}>Receive</button>
                <button class="btn" data-testid="adjust" onClick=${() => setEditing({ product: r, kind: 'adjust' })}>Adjust</button>
              </td>
            </tr>`)}
        </tbody>
      </table>
      ${editing && html`<${StockDialog} store=${store} ...${editing} onClose=${() => setEditing(null)} toast=${toast} />`}
    </div>`;
}

function StockDialog({ store, product, kind, onClose, toast }) {
  const [text, setText] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const n = /^-?\d{1,7}$/.test(text.trim()) ? Number(text.trim()) : null;
  const valid = n !== null && n !== 0 && (kind === 'adjust' || n > 0);
  const save = async (e) => {
    e.preventDefault();
    if (!valid) return;
    setBusy(true);
    try {
      if (kind === 'receive') await store.receiveStock(product.id, n);
      else await store.adjustStock(product.id, n);
      toast(kind === 'receive' ? `Received ${n} × ${product.name}` : `Adjusted ${product.name} by ${n > 0 ? '+' : ''}${n}`);
      onClose();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return html`
    <div class="overlay" role="dialog" aria-modal="true" data-testid="stock-dialog">
      <form class="dialog small" onSubmit=${save}>
        <h2>${kind === 'receive' ? 'Receive goods' : 'Adjust stock'}: ${product.name}</h2>
        <p class="muted">On hand now: ${product.on_hand}.
          ${kind === 'receive' ? ' How many arrived?' : ' Change by how many? Use a minus sign to take away (−2 for two broken).'}</p>
        <input class="big-input" type="text" inputmode=${kind === 'receive' ? 'numeric' : 'text'} autofocus
          data-testid="stock-qty" value=${text} onInput=${(e) => setText(e.currentTarget.value)} />
        ${valid && html`<p>New on hand: <strong>${product.on_hand + n}</strong></p>`}
        ${error && html`<p class="error">${error}</p>`}
        <div class="dialog-actions">
          <button type="button" class="btn big" onClick=${onClose}>Cancel</button>
          <button type="submit" class="btn big primary" data-testid="stock-save" disabled=${!valid || busy}>Save</button>
        </div>
      </form>
    </div>`;
}
