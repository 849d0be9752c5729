// A confirmation dialog with big buttons; the safe choice is on the left and is focused first.
import { html } from '../lib/html.js';

export function Confirm({ title, children, confirmLabel = 'OK', cancelLabel = 'Cancel', danger, disabled, onConfirm, onCancel }) {
  return html`
    <div class="overlay" role="dialog" aria-modal="true" aria-label=${title} data-testid="confirm">
      <div class="dialog small">
        <h2>${title}</h2>
        <div class="dialog-body">${children}</div>
        <div class="dialog-actions">
          <button class="btn big" autofocus onClick=${onCancel} data-testid="confirm-cancel">${cancelLabel}</button>
          <button class=${danger ? 'btn big danger' : 'btn big primary'} disabled=${disabled}
            onClick=${onConfirm} data-testid="confirm-ok">${confirmLabel}</button>
        </div>
      </div>
    </div>`;
}
