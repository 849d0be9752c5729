// Catalog management for a manager: add products, edit names, prices, tax rates and barcodes.
// Products are catalog rows: an edit here reaches every shop through the hub. Merge is
// per-column last-writer-wins, so an edit sends only the columns that changed: a price changed
// here and a barcode changed at another shop both survive.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { useQuery } from '../lib/hooks.js';
import { formatMoney, parseMoney, decimalString, formatRate, parseRate } from '../lib/money.js';
import { formatDateTime } from '../lib/time.js';
import { describeError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';

const LIST_SQL = `SELECT p.*, c.name AS category_name FROM products p LEFT JOIN categories c ON c.id = p.category_id
  ORDER BY p.active DESC, p.name COLLATE NOCASE`;
const CATEGORIES_SQL = 'SELECT id, name FROM categories ORDER BY sort_order, name';

export function Catalog({ store, toast }) {
  const list = useQuery(store, LIST_SQL, [], ['products', 'categories']);
  const categories = useQuery(store, CATEGORIES_SQL, [], ['categories']);
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState(null);  // a product row, or {} for a new one
  const currency = store.identity.currency;
  const f = filter.trim().toLowerCase();
  const rows = list.rows.filter((p) => !f || p.name.toLowerCase().includes(f) || p.barcode === f || p.sku === filter.trim());

  return html`
    <div class="page">
      <header class="pane-head">
        <h2>Catalog</h2>
        <input class="search" type="search" placeholder="Find product" value=${filter}
          onInput=${(e) => setFilter(e.currentTarget.value)} />
        <button class="btn primary" data-testid="add-product" onClick=${() => setEditing({})}>Add product</button>
      </header>
      <p class="muted">Changes here reach every shop after sync.</p>
      <table class="table" data-testid="catalog-table">
        <thead><tr><th>Product</th><th>Category</th><th class="num">Price</th><th class="num">Tax</th><th>Barcode</th><th></th></tr></thead>
        <tbody>
          ${rows.map((p) => html`
            <tr key=${p.id} class=${p.active ? '' : 'inactive'} data-testid="catalog-row" data-product-id=${p.id}>
              <td>${p.name}${!p.active && html` <span class="badge">not for sale</span>`}</td>
              <td>${p.category_name ?? '—'}</td>
              <td class="num" data-testid="catalog-price">${formatMoney(p.price_minor, currency)}</td>
              <td class="num">${formatRate(p.tax_rate_bp)}</td>
              <td class="mono">${p.barcode ?? ''}</td>
              <td><button class="btn" data-testid="edit-product" onClick=${() => setEditing(p)}>Edit</button></td>
            </tr>`)}
        </tbody>
      </table>
      ${editing && html`<${ProductForm} store=${store} product=${editing} categories=${categories.rows}
        onClose=${() => setEditing(null)} toast=${toast} />`}
    </div>`;
}

function ProductForm({ store, product, categories, onClose, toast }) {
  const currency = store.identity.currency;
  const isNew = !product.id;
  const [name, setName] = useState(product.name ?? '');
  const [price, setPrice] = useState(isNew ? '' : decimalString(product.price_minor, currency));
  const [rate, setRate] = useState(isNew ? '' : formatRate(product.tax_rate_bp).replace(' %', ''));
  const [barcode, setBarcode] = useState(product.barcode ?? '');
  const [sku, setSku] = useState(product.sku ?? '');
  const [category, setCategory] = useState(product.category_id ?? '');
  const [active, setActive] = useState(isNew ? true : product.active === 1);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const priceMinor = parseMoney(price, currency);
  const rateBp = parseRate(rate);
  const valid = name.trim() && priceMinor !== null && rateBp !== null;

  const save = async (e) => {
    e.preventDefault();
    if (!valid) return;
    const next = { name: name.trim(), price_minor: priceMinor, tax_rate_bp: rateBp, barcode: barcode.trim() || null,
      sku: sku.trim() || null, category_id: category || null, active: active ? 1 : 0 };
    const values = {};
    for (const [k, v] of Object.entries(next)) if (isNew || product[k] !== v) values[k] = v;
    if (Object.keys(values).length === 0) { onClose(); return; }
    // The tracking column for people: when this row was last changed (device wall time; the
    // hub fills in which shop did it).
    values.last_modified_at = Date.now();
    setBusy(true);
    try {
      await store.write([{ table: 'products', id: isNew ? newId('p') : product.id, values }]);
      toast(isNew ? `Added ${next.name}` : `Saved ${next.name}`);
      onClose();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return html`
    <div class="overlay" role="dialog" aria-modal="true" data-testid="product-form">
      <form class="dialog" onSubmit=${save}>
        <h2>${isNew ? 'New product' : `Edit ${product.name}`}</h2>
        <div class="form-grid">
          <label>Name<input data-testid="f-name" value=${name} onInput=${(e) => setName(e.currentTarget.value)} required /></label>
          <label>Category
            <select value=${category} onChange=${(e) => setCategory(e.currentTarget.value)}>
              <option value="">None</option>
              ${categories.map((c) => html`<option key=${c.id} value=${c.id}>${c.name}</option>`)}
            </select>
          </label>
          <label>Price (${currency}, before tax)
            <input data-testid="f-price" inputmode="decimal" value=${price} onInput=${(e) => setPrice(e.currentTarget.value)}
              class=${price && priceMinor === null ? 'invalid' : ''} />
            ${priceMinor !== null && html`<span class="hint">${formatMoney(priceMinor, currency)}</span>`}
          </label>
          <label>Tax rate (%)
            <input data-testid="f-tax" inputmode="decimal" value=${rate} onInput=${(e) => setRate(e.currentTarget.value)}
              class=${rate && rateBp === null ? 'invalid' : ''} />
          </label>
          <label>Barcode<input data-testid="f-barcode" inputmode="numeric" value=${barcode} onInput=${(e) => setBarcode(e.currentTarget.value)} /></label>
          <label>SKU<input value=${sku} onInput=${(e) => setSku(e.currentTarget.value)} /></label>
          <label class="check"><input type="checkbox" checked=${active} onChange=${(e) => setActive(e.currentTarget.checked)} /> For sale</label>
        </div>
        ${!isNew && product.last_modified_at && html`<p class="muted">Last changed ${formatDateTime(product.last_modified_at)}
          ${product.last_modified_shop_id ? ` by shop ${product.last_modified_shop_id}` : ' on the hub'}</p>`}
        ${error && html`<p class="error">${error}</p>`}
        <div class="dialog-actions">
          <button type="button" class="btn big" onClick=${onClose}>Cancel</button>
          <button type="submit" class="btn big primary" data-testid="f-save" disabled=${!valid || busy}>Save</button>
        </div>
      </form>
    </div>`;
}
