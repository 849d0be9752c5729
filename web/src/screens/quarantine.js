// Operations the hub refused, with its reason. One refused operation never blocks the queue
// behind it; it waits here for a person: retry (after fixing what the reason says, e.g. the
// product exists again) or discard.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { describeError } from '../lib/errors.js';
import { formatDateTime } from '../lib/time.js';
import { Confirm } from '../components/confirm.js';

const VERB = { voided: 'Void of sale', refunded: 'Refund of sale' };

function summary(changes, receipts) {
  const order = changes.find((c) => c.table === 'sales_orders');
  if (order) {
    const v = order.values;
    if (v.receipt_no) return `Sale ${v.receipt_no}`;
    if (v.status) return `${VERB[v.status] ?? `Status ${v.status} of sale`} ${receipts.get(order.id) ?? order.id}`;
  }
  const tables = [...new Set(changes.map((c) => c.table))];
  return `${changes.length} change${changes.length === 1 ? '' : 's'} to ${tables.join(', ')}`;
}

export function Quarantine({ store, status, toast }) {
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  const [discarding, setDiscarding] = useState(null);
  const [receipts, setReceipts] = useState(new Map());
  const reload = () => store.quarantine().then(async (ops) => {
    // Name sales by their receipt number, which is what a cashier knows them by.
    const ids = [...new Set(ops.flatMap((q) => q.changes.filter((c) => c.table === 'sales_orders').map((c) => c.id)))];
    const found = new Map();
    for (const id of ids) {
      const rows = await store.query('SELECT receipt_no FROM sales_orders WHERE id = ?1', [id]).catch(() => []);
      if (rows[0]) found.set(id, rows[0].receipt_no);
    }
    setReceipts(found);
    setList(ops);
  }, (e) => setError(describeError(e)));
  useEffect(() => { reload(); }, [store, status?.quarantined]);

  const run = async (fn, msg) => {
    setError(null);
    try { await fn(); toast(msg); reload(); } catch (e) { setError(describeError(e)); }
  };
  if (!list) return html`<p class="muted pad">Loading…</p>`;
  return html`
    <div class="page">
      <header class="pane-head"><h2>Refused by the hub</h2></header>
      ${error && html`<p class="error">${error}</p>`}
      ${list.length === 0 ? html`<p class="pad" data-testid="no-quarantine">Nothing was refused.</p>` : html`
        <ul class="cards">
          ${list.map((q) => html`
            <li key=${q.seq} class="card" data-testid="quarantined" data-seq=${q.seq}>
              <div class="card-main">
                <strong>${summary(q.changes, receipts)}</strong>${' '}
                <span class="badge bad mono">${q.code}</span>
                <p>${q.reason}</p>
                <p class="muted">Operation #${q.seq} · ${formatDateTime(q.createdAt)}</p>
                <details><summary>Details</summary><pre class="mono">${JSON.stringify(q.changes, null, 2)}</pre></details>
              </div>
              <div class="card-actions">
                <button class="btn big" data-testid="retry" onClick=${() => run(() => store.retryQuarantined(q.seq), 'Queued again')}>Retry</button>
                <button class="btn big danger" data-testid="discard" onClick=${() => setDiscarding(q)}>Discard</button>
              </div>
            </li>`)}
        </ul>`}
      ${discarding && html`
        <${Confirm} title="Discard this operation?" confirmLabel="Discard" danger=${true}
          onCancel=${() => setDiscarding(null)}
          onConfirm=${() => { const q = discarding; setDiscarding(null); run(() => store.discardQuarantined(q.seq), 'Discarded'); }}>
          ${summary(discarding.changes, receipts)} will never reach the hub. This cannot be undone.
        <//>`}
    </div>`;
}
