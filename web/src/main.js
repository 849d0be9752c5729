// Boot: register the service worker, then open the till's store (or show first run), then
// render. index.html holds a visible "Starting…" message until this replaces it, and any boot
// failure is shown with a reload button: the app never sits on a blank screen.
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { html } from './lib/html.js';
import { App } from './app.js';
import { registerServiceWorker } from './lib/sw_client.js';
import { setupMarker, reopen } from './lib/session.js';
import { describeError } from './lib/errors.js';

const root = document.getElementById('app');
let setUpdate = () => {};
let pendingUpdate = null;
const swRegistration = registerServiceWorker({
  onUpdate: (u) => { pendingUpdate = { ...pendingUpdate, ...u }; setUpdate(pendingUpdate); },
});

function Root({ store }) {
  const [update, set] = useState(pendingUpdate);
  setUpdate = set;
  return html`<${App} initialStore=${store} swRegistration=${swRegistration} update=${update}
    onApplyUpdate=${() => update?.apply?.()} />`;
}

function showBootError(e) {
  root.innerHTML = '';
  const box = document.createElement('div');
  box.className = 'boot-error';
  box.setAttribute('role', 'alert');
  box.innerHTML = '<h1>The till could not start</h1><p></p><button class="btn charge">Try again</button>';
  box.querySelector('p').textContent = describeError(e);
  box.querySelector('button').onclick = () => location.reload();
  root.append(box);
}

async function boot() {
  const store = setupMarker() ? await reopen() : null;
  root.textContent = '';
  render(html`<${Root} store=${store} />`, root);
  window.__tillsyncReady = true;  // for the end-to-end tests: the app has rendered
}

boot().catch((e) => {
  console.error('boot failed', e);
  showBootError(e);
});
