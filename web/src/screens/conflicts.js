// Conflicts that need a person: both versions side by side, field by field. The cashier keeps
// one version, or merges: per field pick this till's or the hub's value, or type a new one.
// Resolving writes the chosen row as a new operation on top of the hub's version, so it syncs
// like any edit.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { describeError } from '../lib/errors.js';
import { formatDateTime } from '../lib/time.js';

const HIDDEN = new Set(['shop_id']);

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
  const differs = (k) => JSON.stringify(conflict.mine[k] ?? null) !== JSON.stringify(conflict.theirs[k] ?? null);
  // Start from the hub's version; the fields that differ are where a choice is needed.
  const [merged, setMerged] = useState(() => ({ ...conflict.theirs }));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const resolve = async (values, label) => {
    setBusy(true);
    setError(null);
    try {
      await store.resolveConflict(conflict.id, values);
      toast(`Conflict resolved: ${label}`);
      onResolved();
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  };

  return html`
    <section class="conflict" data-testid="conflict" data-conflict-id=${conflict.id} data-table=${conflict.table}>
      <h3>${conflict.table === 'customers' ? 'Customer' : conflict.table} <span class="mono muted">${conflict.rowId}</span></h3>
      <p class="muted">Changed on this till and elsewhere before either saw the other · ${formatDateTime(conflict.createdAt)}</p>
      <table class="table conflict-table">
        <thead><tr><th>Field</th><th>This till</th><th>Hub (other till)</th><th>Result</th></tr></thead>
        <tbody>
          ${columns.map((k) => html`
            <tr key=${k} class=${differs(k) ? 'differs' : ''}>
              <th>${k}</th>
              <td><button class=${JSON.stringify(merged[k] ?? null) === JSON.stringify(conflict.mine[k] ?? null) ? 'pick active' : 'pick'}
                data-testid=${`pick-mine-${k}`} onClick=${() => setMerged({ ...merged, [k]: conflict.mine[k] ?? null })}>
                ${show(conflict.mine[k])}</button></td>
              <td><button class=${JSON.stringify(merged[k] ?? null) === JSON.stringify(conflict.theirs[k] ?? null) ? 'pick active' : 'pick'}
                data-testid=${`pick-theirs-${k}`} onClick=${() => setMerged({ ...merged, [k]: conflict.theirs[k] ?? null })}>
                ${show(conflict.theirs[k])}</button></td>
              <td>${typeof (conflict.theirs[k] ?? conflict.mine[k]) === 'number' ? show(merged[k]) : html`
                <input data-testid=${`merge-${k}`} value=${merged[k] ?? ''}
                  onInput=${(e) => setMerged({ ...merged, [k]: e.currentTarget.value || null })} />`}</td>
            </tr>`)}
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
