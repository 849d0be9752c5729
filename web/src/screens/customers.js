// Customers of this shop. The table merges by hand ("manual" rule): if two tills change the same
// customer while apart, neither edit is dropped silently; the later one to reach the hub becomes
// a conflict that a person settles on the Conflicts screen.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { useQuery } from '../lib/hooks.js';
import { describeError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';

const SQL = 'SELECT * FROM customers WHERE shop_id = ?1 ORDER BY name COLLATE NOCASE';
const FIELDS = [['name', 'Name'], ['phone', 'Phone'], ['email', 'Email'], ['notes', 'Notes']];

export function Customers({ store, toast }) {
  const list = useQuery(store, SQL, [store.identity.shopId], ['customers']);
  const [editing, setEditing] = useState(null);
  return html`
    <div class="page">
      <header class="pane-head">
        <h2>Customers</h2>
        <button class="btn primary" data-testid="add-customer" onClick=${() => setEditing({})}>Add customer</button>
      </header>
      <table class="table" data-testid="customers-table">
        <thead><tr><th>Name</th><th>Phone</th><th>Email</th><th>Notes</th><th></th></tr></thead>
        <tbody>
          ${list.rows.length === 0 && !list.loading && html`<tr><td colspan="5" class="muted">No customers yet.</td></tr>`}
          ${list.rows.map((c) => html`
            <tr key=${c.id} data-testid="customer-row" data-customer-id=${c.id}>
              <td>${c.name}</td><td>${c.phone ?? ''}</td><td>${c.email ?? ''}</td><td>${c.notes ?? ''}</td>
              <td><button class="btn" data-testid="edit-customer" onClick=${() => setEditing(c)}>Edit</button></td>
            </tr>`)}
        </tbody>
      </table>
      ${editing && html`<${CustomerForm} store=${store} customer=${editing} onClose=${() => setEditing(null)} toast=${toast} />`}
    </div>`;
}

function CustomerForm({ store, customer, onClose, toast }) {
  const isNew = !customer.id;
  const [values, setValues] = useState(Object.fromEntries(FIELDS.map(([k]) => [k, customer[k] ?? ''])));
  const [error, setError] = useState(null);
  const save = async (e) => {
    e.preventDefault();
    const changed = {};
    for (const [k] of FIELDS) {
      const v = values[k].trim() || (k === 'name' ? '' : null);
      if (isNew || (customer[k] ?? null) !== v) changed[k] = v;
    }
    if (!changed.name && isNew) return;
    if (Object.keys(changed).length === 0) { onClose(); return; }
    if (isNew) changed.shop_id = store.identity.shopId;
    try {
      await store.write([{ table: 'customers', id: isNew ? newId('c') : customer.id, values: changed }]);
      toast(isNew ? 'Customer added' : 'Customer saved');
      onClose();
    } catch (err) {
      setError(describeError(err));
    }
  };
  return html`
    <div class="overlay" role="dialog" aria-modal="true" data-testid="customer-form">
      <form class="dialog" onSubmit=${save}>
        <h2>${isNew ? 'New customer' : `Edit ${customer.name}`}</h2>
        <div class="form-grid">
          ${FIELDS.map(([k, label]) => html`
            <label key=${k}>${label}
              <input data-testid=${`c-${k}`} value=${values[k]} required=${k === 'name'}
                onInput=${(e) => setValues({ ...values, [k]: e.currentTarget.value })} />
            </label>`)}
        </div>
        ${error && html`<p class="error">${error}</p>`}
        <div class="dialog-actions">
          <button type="button" class="btn big" onClick=${onClose}>Cancel</button>
          <button type="submit" class="btn big primary" data-testid="c-save">Save</button>
        </div>
      </form>
    </div>`;
}
