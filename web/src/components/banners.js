// Banners above every screen for things a cashier must not miss: the hub demands a newer app,
// a newer app is ready, storage is full.
import { html } from '../lib/html.js';

export function Banners({ status, update, onApplyUpdate, storageFull, onDismissStorage }) {
  return html`
    <div class="banners">
      ${status?.state === 'update_required' && html`
        <div class="banner bad" data-testid="banner-update-required" role="alert">
          <strong>Update required.</strong>
          The hub now needs app version ${status.minSchemaVersion ?? '?'} (this till has
          ${' '}${status.schemaVersion}). Selling still works and every sale is kept on this device
          (${status.pending} waiting to upload). Uploads resume after the update.
          ${update?.waiting && html`<button class="btn" onClick=${onApplyUpdate}>Update now</button>`}
        </div>`}
      ${update?.waiting && html`
        <div class="banner info" data-testid="banner-update-available" role="alert">
          <strong>A new version of the app is ready.</strong>
          Finish the current sale, then update. Nothing recorded is lost.
          <button class="btn primary" data-testid="apply-update" onClick=${onApplyUpdate}>Update now</button>
        </div>`}
      ${update?.elsewhere && html`
        <div class="banner info" role="alert">
          The app was updated in another tab.
          <button class="btn" onClick=${() => location.reload()}>Reload this tab</button>
        </div>`}
      ${storageFull && html`
        <div class="banner bad" data-testid="banner-storage-full" role="alert">
          <strong>Storage is full.</strong> The last sale was NOT recorded. Free space on this device,
          then try again. Sales recorded before are safe.
          <button class="btn" onClick=${onDismissStorage}>OK</button>
        </div>`}
    </div>`;
}
