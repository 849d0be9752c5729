// The sync status bar, always on screen: is this till online, is it syncing, when did it last
// reach the hub, how many operations are waiting, what went wrong, and a "Sync now" button.
// A cashier reads it at a glance: colour and one word first, details after.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { useProgress, useTick } from '../lib/hooks.js';
import { ago, formatTime } from '../lib/time.js';
import { go } from '../lib/route.js';
import { describeError } from '../lib/errors.js';

/**
 * What the cashier is told, from the engine's status. The engine's `state` says how the last sync
 * cycle went; `online` follows the browser at once. A till whose network just dropped is shown
 * offline right away, not only after its next sync attempt fails.
 */
export function displayState(status) {
  if (!status) return 'starting';
  if (status.state === 'update_required' || status.state === 'syncing') return status.state;
  if (!status.online) return 'offline';
  return status.state;
}

const HEADLINES = {
  starting: { tone: 'muted', word: 'Starting…' },
  syncing: { tone: 'info', word: 'Syncing…' },
  offline: { tone: 'warn', word: 'Offline' },
  failed: { tone: 'bad', word: 'Sync failed' },
  update_required: { tone: 'bad', word: 'Update required' },
  idle: { tone: 'good', word: 'Online' },
};

export function StatusBar({ store, status }) {
  useTick(15000);
  const progress = useProgress(store);
  const [busy, setBusy] = useState(false);
  const [syncError, setSyncError] = useState(null);
  const state = displayState(status);
  const { tone, word } = HEADLINES[state] ?? HEADLINES.idle;

  const syncNow = async () => {
    setBusy(true);
    setSyncError(null);
    try {
      await store.sync();
    } catch (e) {
      setSyncError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  const pending = status?.pending ?? 0;
  return html`
    <footer class="statusbar tone-${tone}" data-testid="status-bar" data-state=${state}
        data-pending=${pending} role="status" aria-live="polite">
      <span class="status-word"><span class="dot" aria-hidden="true"></span>${word}</span>
      ${progress && html`
        <span class="progress" data-testid="sync-progress">
          <span>${progress.phase === 'download' ? 'Downloading' : 'Uploading'}
            ${' '}${progress.done.toLocaleString()} / ${progress.total.toLocaleString()}</span>
          <progress max=${progress.total || 1} value=${progress.done}></progress>
        </span>`}
      <span class="status-detail">
        ${status?.lastSyncedAt
          ? html`Last synced <b title=${new Date(status.lastSyncedAt).toLocaleString()}>${formatTime(status.lastSyncedAt)}</b>
              <span class="muted"> (${ago(status.lastSyncedAt)})</span>`
          : html`<span class="muted">Never synced</span>`}
      </span>
      <span class=${pending ? 'pending has-pending' : 'pending'} data-testid="pending-count">
        ${pending === 0 ? 'All uploaded' : `${pending} waiting to upload`}
      </span>
      ${status?.quarantined > 0 && html`
        <button class="chip bad" onClick=${() => go('quarantine')}>${status.quarantined} refused</button>`}
      ${status?.openConflicts > 0 && html`
        <button class="chip warn" onClick=${() => go('conflicts')}>${status.openConflicts} conflict${status.openConflicts === 1 ? '' : 's'}</button>`}
      ${(syncError || (status?.lastError && state === 'failed')) && html`
        <span class="status-error" data-testid="sync-error" title=${syncError || status?.lastError?.message}>
          ${syncError || status?.lastError?.message}
          ${status?.state === 'failed' && status.nextRetryInMs > 0
            ? ` · retry in ${Math.ceil(status.nextRetryInMs / 1000)} s` : ''}
        </span>`}
      <button class="btn sync-now" data-testid="sync-now" onClick=${syncNow}
          disabled=${!store || busy || status?.state === 'syncing'}>
        ${busy || status?.state === 'syncing' ? 'Syncing…' : 'Sync now'}
      </button>
    </footer>`;
}
