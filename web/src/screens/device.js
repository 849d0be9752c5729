// This till: identity, storage, sync details, and the debug panel (the queue of operations
// waiting for the hub, the recent sync log, clearing the local cache).
//
// Clearing is refused while anything is waiting for the hub or was refused by it: the local
// database is the only copy of those sales. The package refuses too (code "unsynced_data"); the
// screen says so before anyone presses the button.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { describeError } from '../lib/errors.js';
import { formatBytes, formatDateTime, ago } from '../lib/time.js';
import { setupMarker, forgetMarker } from '../lib/session.js';
import { Confirm } from '../components/confirm.js';
import { displayState } from '../components/status_bar.js';

export function Device({ store, status, toast, storageFull }) {
  const id = store.identity;
  const marker = setupMarker();
  return html`
    <div class="page device-page">
      <section class="panel">
        <h2>This till</h2>
        <dl class="facts">
          <div><dt>Shop</dt><dd>${marker?.shopName ?? id.shopId} <span class="mono muted">${id.shopId}</span></dd></div>
          <div><dt>Till</dt><dd>${marker?.deviceName ?? ''} <span class="mono muted" data-testid="device-id">${id.deviceId}</span></dd></div>
          <div><dt>Receipt numbers</dt><dd class="mono">${id.receiptPrefix}-000001, …</dd></div>
          <div><dt>Currency</dt><dd>${id.currency}</dd></div>
          <div><dt>Hub</dt><dd class="mono">${marker?.hubUrl ?? '—'}</dd></div>
          <div><dt>App data version</dt><dd>${status?.schemaVersion ?? '—'}</dd></div>
        </dl>
      </section>
      <${StoragePanel} store=${store} storageFull=${storageFull} />
      <section class="panel">
        <h2>Sync</h2>
        <dl class="facts">
          <div><dt>State</dt><dd data-testid="sync-state">${displayState(status).replace('_', ' ')}</dd></div>
          <div><dt>Last synced</dt><dd>${status?.lastSyncedAt ? `${formatDateTime(status.lastSyncedAt)} (${ago(status.lastSyncedAt)})` : 'never'}</dd></div>
          <div><dt>Waiting to upload</dt><dd>${status?.pending}</dd></div>
          <div><dt>Refused</dt><dd>${status?.quarantined}</dd></div>
          <div><dt>Open conflicts</dt><dd>${status?.openConflicts}</dd></div>
          <div><dt>Syncs ok / failed</dt><dd>${status?.successes} / ${status?.failures}</dd></div>
          ${status?.lastError && html`<div><dt>Last error</dt><dd class="error-text">${status.lastError.code}: ${status.lastError.message}</dd></div>`}
          <div><dt>This tab runs the database</dt><dd>${status?.isOwner ? 'yes' : 'no (another tab does)'}</dd></div>
        </dl>
      </section>
      <${DebugPanel} store=${store} status=${status} toast=${toast} />
    </div>`;
}

function StoragePanel({ store, storageFull }) {
  const [info, setInfo] = useState(null);
  const [error, setError] = useState(null);
  const load = () => store.storage().then(setInfo, (e) => setError(describeError(e)));
  useEffect(() => { load(); }, [store]);
  const askPersist = async () => {
    try { await navigator.storage?.persist?.(); } finally { load(); }
  };
  const pct = info && info.quota ? Math.min(100, Math.round((info.usage / info.quota) * 100)) : 0;
  return html`
    <section class="panel" data-testid="storage-panel">
      <h2>Storage</h2>
      ${error && html`<p class="error">${error}</p>`}
      ${storageFull && html`<p class="banner bad">Storage is full: new sales cannot be recorded until space is freed.</p>`}
      ${info && html`
        <dl class="facts">
          <div><dt>Persistent storage</dt><dd class="long" data-testid="persisted">
            ${info.persisted ? html`<span class="badge good">granted</span> the browser will not evict this till's data`
              : html`<span class="badge warn">not granted</span> the browser may clear this till's data when the device
                 runs low on space. Installing the app to the home screen usually grants it.
                 <div><button class="btn" onClick=${askPersist}>Ask again</button></div>`}
          </dd></div>
          <div><dt>Used</dt><dd data-testid="usage">${formatBytes(info.usage)} of ${formatBytes(info.quota)} (${pct} %)</dd></div>
        </dl>
        <progress class="meter" max="100" value=${pct}></progress>`}
    </section>`;
}

function DebugPanel({ store, status, toast }) {
  const [queue, setQueue] = useState([]);
  const [log, setLog] = useState([]);
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => {
    store.outbox().then(setQueue, () => {});
    store.syncLog().then((l) => setLog([...l].sort((x, y) => y.at - x.at).slice(0, 100)), () => {});
  }, [store, status?.pending, status?.lastSyncedAt, status?.failures]);

  const unsynced = (status?.pending ?? 0) + (status?.quarantined ?? 0);
  const clear = async () => {
    setAsking(false);
    try {
      await store.clearLocalData();
      forgetMarker();
      location.reload();
    } catch (e) {
      setError(describeError(e));
    }
  };

  return html`
    <section class="panel debug" data-testid="debug-panel">
      <h2>Debug</h2>
      <h3>Queue (${queue.length} waiting)</h3>
      <ul class="log" data-testid="queue">
        ${queue.length === 0 && html`<li class="muted">Empty: everything reached the hub.</li>`}
        ${queue.slice(0, 50).map((op) => html`
          <li key=${op.seq}><span class="mono">#${op.seq}</span>${' '}${formatDateTime(op.createdAt)}${' · '}
            ${op.changes.length} changes (${[...new Set(op.changes.map((c) => c.table))].join(', ')})</li>`)}
      </ul>
      <h3>Recent sync log</h3>
      <ul class="log" data-testid="sync-log">
        ${log.length === 0 && html`<li class="muted">No entries yet.</li>`}
        ${log.map((e, i) => html`<li key=${i}><span class="mono">${new Date(e.at).toLocaleTimeString()}</span>${' '}
          <strong>${e.kind}</strong>${' '}${e.detail}</li>`)}
      </ul>
      <h3>Clear local cache</h3>
      <p>Deletes this till's database. It downloads everything again at the next start; set up is needed again.</p>
      ${unsynced > 0 && html`<p class="banner warn" data-testid="clear-refused">Not possible now: ${unsynced} sale(s) or change(s)
        exist only on this till. Sync first (or resolve what the hub refused).</p>`}
      ${error && html`<p class="error" data-testid="clear-error">${error}</p>`}
      <button class="btn danger big" data-testid="clear-cache" disabled=${unsynced > 0} onClick=${() => setAsking(true)}>Clear local cache…</button>
      ${asking && html`<${Confirm} title="Clear this till's local data?" confirmLabel="Clear and restart" danger=${true}
        onCancel=${() => setAsking(false)} onConfirm=${clear}>
        Everything is already on the hub. The till will restart at set up.
      <//>`}
    </section>`;
}
