// Conflicts that need a person: both versions side by side, field by field. The cashier keeps
// one version, or merges: per field pick this till's or the hub's value, or type a new one.
// Resolving writes the chosen row as a new operation on top of the hub's version, so it syncs
// like any edit.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { describeError } from '../lib/errors.js';
import { formatDateTime } from '../lib/time.js';

const HIDDEN = new Set(['shop_id']);
const LABELS = { name: 'Name', phone: 'Phone', email: 'Email', notes: 'Notes' };
const label = (k) => LABELS[k] ?? k.replace(/_/g, ' ');

export function Conflicts({ store, status, toast }) {
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  const reload = () => store.conflicts().then(setList, (e) => setError(describeError(e)));
  useEffect(() => { reload(); }, [store, status?.openConflicts]);

  if (!list) return html`<p class="muted pad">Loading conflicts…</p>`;
  return html`
    <div class="page">
      <header class="pane-head"><h2>Conflicts</h2></header>
      ${error && html`<p class="error">${error}</p>`}
      ${list.length === 0 ? html`<p class="pad" data-testid="no-conflicts">No conflicts. Everything merged by itself.</p>`
        : list.map((c) => html`<${ConflictCard} key=${c.id} store=${store} conflict=${c} toast=${toast} onResolved=${reload} />`)}
    </div>`;
}

function show(v) {
  return v === null || v === undefined || v === '' ? '—' : String(v);
}

function ConflictCard({ store, conflict, toast, onResolved }) {
  const columns = [...new Set([...Object.keys(conflict.theirs), ...Object.keys(conflict.mine)])]
    .filter((k) => !HIDDEN.has(k) && k !== 'id');
  const same = (x, y) => JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
  const differs = (k) => !same(conflict.mine[k], conflict.theirs[k]);
  // Start from the hub's version; the fields that differ are where a choice is needed.
  const [merged, setMerged] = useState(() => ({ ...conflict.theirs }));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  // The result column: numbers are chosen, text can also be typed (a true merge).
  const editor = (k) => (typeof (conflict.theirs[k] ?? conflict.mine[k]) === 'number' ? show(merged[k]) : html`
    <input data-testid=${`merge-${k}`} value=${merged[k] ?? ''} aria-label=${`Result: ${label(k)}`}
      onInput=${(e) => setMerged({ ...merged, [k]: e.currentTarget.value || null })} />`);

  const resolve = async (values, what) => {
    setBusy(true);
    setError(null);
    try {
      await store.resolveConflict(conflict.id, values);
      toast(`Conflict resolved: ${what}`);
      onResolved();
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  };

  return html`
    <section class="conflict" data-testid="conflict" data-conflict-id=${conflict.id} data-table=${conflict.table}>
      <h3>${conflict.table === 'customers' ? 'Customer' : conflict.table}:
        ${' '}${conflict.theirs.name ?? conflict.mine.name ?? conflict.rowId}</h3>
      <p class="muted">Changed on this till and elsewhere before either saw the other · ${formatDateTime(conflict.createdAt)}</p>
      <table class="table conflict-table">
        <thead><tr><th>Field</th><th>This till</th><th>Hub (other till)</th><th>Result</th></tr></thead>
        <tbody>
          ${columns.map((k) => (differs(k) ? html`
            <tr key=${k} class="differs">
              <th>${label(k)}</th>
              <td><button class=${same(merged[k], conflict.mine[k]) ? 'pick active' : 'pick'}
                data-testid=${`pick-mine-${k}`} onClick=${() => setMerged({ ...merged, [k]: conflict.mine[k] ?? null })}>
                ${show(conflict.mine[k])}</button></td>
              <td><button class=${same(merged[k], conflict.theirs[k]) ? 'pick active' : 'pick'}
                data-testid=${`pick-theirs-${k}`} onClick=${() => setMerged({ ...merged, [k]: conflict.theirs[k] ?? null })}>
                ${show(conflict.theirs[k])}</button></td>
              <td>${editor(k)}</td>
            </tr>` : html`
            <tr key=${k} class="same">
              <th>${label(k)}</th>
              <td colspan="2" class="muted">${show(conflict.theirs[k])} <span class="hint">(same on both)</span></td>
              <td>${editor(k)}</td>
            </tr>`))}
        </tbody>
      </table>
      ${error && html`<p class="error">${error}</p>`}
      <div class="dialog-actions">
        <button class="btn big" data-testid="keep-mine" disabled=${busy} onClick=${() => resolve(conflict.mine, 'kept this till’s version')}>Keep this till’s</button>
        <button class="btn big" data-testid="keep-theirs" disabled=${busy} onClick=${() => resolve(conflict.theirs, 'kept the hub’s version')}>Keep hub’s</button>
        <button class="btn big primary" data-testid="save-merged" disabled=${busy} onClick=${() => resolve(merged, 'merged')}>Save merged</button>
      </div>
    </section>`;
}
