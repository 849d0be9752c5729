// The POS app: navigation, banners, the screen of the current route, and the status bar that is
// always visible.
import { useEffect, useState, useCallback } from 'preact/hooks';
import { html } from './lib/html.js';
import { useRoute, go } from './lib/route.js';
import { useStatus, useQuery } from './lib/hooks.js';
import { setupMarker } from './lib/session.js';
import { requestBackgroundUpload } from './lib/sw_client.js';
import { StatusBar } from './components/status_bar.js';
import { Banners } from './components/banners.js';
import { Sell } from './screens/sell.js';
import { Receipt } from './screens/receipt.js';
import { History } from './screens/history.js';
import { Stock } from './screens/stock.js';
import { Catalog } from './screens/catalog.js';
import { Customers } from './screens/customers.js';
import { Conflicts } from './screens/conflicts.js';
import { Quarantine } from './screens/quarantine.js';
import { Device } from './screens/device.js';
import { FirstRun } from './screens/first_run.js';

const NAV = [
  ['sell', 'Sell'], ['history', 'Sales'], ['stock', 'Stock'], ['catalog', 'Catalog'], ['customers', 'Customers'],
  ['conflicts', 'Conflicts'], ['quarantine', 'Refused'], ['device', 'Till'],
];

// The cart survives a reload of the tab (an app update, a crash of the page) but belongs to one
// tab: two tabs never share a half-rung sale.
const CART_KEY = 'tillsync.pos.cart';
function loadCart() {
  try { return JSON.parse(sessionStorage.getItem(CART_KEY) || '[]'); } catch { return []; }
}

function useToast() {
  const [toast, setToast] = useState(null);
  useEffect(() => {
    if (!toast) return undefined;
    const t = setTimeout(() => setToast(null), toast.tone === 'bad' ? 4000 : 2000);
    return () => clearTimeout(t);
  }, [toast]);
  const show = useCallback((text, tone = 'good') => setToast({ text, tone, at: Date.now() }), []);
  return [toast, show];
}

export function App({ initialStore, swRegistration, update, onApplyUpdate }) {
  const [store, setStore] = useState(initialStore);
  if (!store) return html`<${FirstRunShell} onReady=${setStore} update=${update} onApplyUpdate=${onApplyUpdate} />`;
  return html`<${Till} store=${store} swRegistration=${swRegistration} update=${update} onApplyUpdate=${onApplyUpdate} />`;
}

function FirstRunShell({ onReady, update, onApplyUpdate }) {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(navigator.onLine);
    addEventListener('online', on);
    addEventListener('offline', on);
    return () => { removeEventListener('online', on); removeEventListener('offline', on); };
  }, []);
  return html`
    <div class="app">
      <${Banners} update=${update} onApplyUpdate=${onApplyUpdate} />
      <main class="main"><${FirstRun} onReady=${onReady} /></main>
      <footer class="statusbar tone-${online ? 'muted' : 'warn'}" data-testid="status-bar" data-state="setup">
        <span class="status-word"><span class="dot"></span>${online ? 'Not set up' : 'Offline'}</span>
        <span class="status-detail muted">This till is not connected to a shop yet.</span>
      </footer>
    </div>`;
}

function Till({ store, swRegistration, update, onApplyUpdate }) {
  const route = useRoute();
  const status = useStatus(store);
  const [cart, setCartState] = useState(loadCart);
  const [toast, showToast] = useToast();
  const [lastSale, setLastSale] = useState(null);
  const [storageFull, setStorageFull] = useState(false);
  const shop = useQuery(store, 'SELECT name FROM shops WHERE id = ?1', [store.identity.shopId], ['shops']);
  const shopName = shop.rows[0]?.name ?? setupMarker()?.shopName ?? 'Shop';

  const setCart = useCallback((next) => {
    setCartState((prev) => {
      const value = typeof next === 'function' ? next(prev) : next;
      sessionStorage.setItem(CART_KEY, JSON.stringify(value));
      return value;
    });
  }, []);

  // Ask the service worker to upload in the background whenever something is waiting: if the
  // last tab closes before the next sync, Background Sync still delivers it. Asked again after
  // every change of what is pending and after every failed attempt: Chromium may fire a sync
  // registration at once (it only knows the device is online), before the package has mirrored
  // the request, and a fired registration is spent. Registering a tag that is already waiting is
  // a no-op.
  useEffect(() => {
    if (status?.pending > 0) requestBackgroundUpload(swRegistration);
  }, [status?.pending, status?.failures, status?.state]);

  useEffect(() => {
    if (status?.lastError?.code === 'storage_full') setStorageFull(true);
  }, [status?.lastError?.code]);

  const reportError = useCallback((e) => { if (e?.code === 'storage_full') setStorageFull(true); }, []);

  let screen;
  switch (route.name) {
    case 'receipt':
      screen = html`<${Receipt} store=${store} orderId=${route.args[0]} shopName=${shopName}
        justSold=${lastSale === route.args[0]} />`;
      break;
    case 'history':
      screen = html`<${History} store=${store} status=${status} selected=${route.args[0]} shopName=${shopName} toast=${showToast} />`;
      break;
    case 'stock': screen = html`<${Stock} store=${store} toast=${showToast} />`; break;
    case 'catalog': screen = html`<${Catalog} store=${store} toast=${showToast} />`; break;
    case 'customers': screen = html`<${Customers} store=${store} toast=${showToast} />`; break;
    case 'conflicts': screen = html`<${Conflicts} store=${store} status=${status} toast=${showToast} />`; break;
    case 'quarantine': screen = html`<${Quarantine} store=${store} status=${status} toast=${showToast} />`; break;
    case 'device': screen = html`<${Device} store=${store} status=${status} toast=${showToast} storageFull=${storageFull} />`; break;
    default:
      screen = html`<${Sell} store=${store} status=${status} cart=${cart} setCart=${setCart} toast=${showToast} reportError=${reportError}
        onSold=${(r) => { setStorageFull(false); setLastSale(r.orderId); go('receipt', r.orderId); }} />`;
  }

  const badge = (name) => (name === 'conflicts' ? status?.openConflicts : name === 'quarantine' ? status?.quarantined : 0);
  return html`
    <div class="app">
      <header class="topbar no-print">
        <span class="brand" title=${store.identity.shopId}>${shopName}</span>
        <nav class="tabs" aria-label="Screens">
          ${NAV.map(([name, label]) => html`
            <a key=${name} href=${`#/${name}`} data-testid=${`nav-${name}`}
              class=${route.name === name || (name === 'sell' && route.name === 'receipt') ? 'tab active' : 'tab'}>
              ${label}${badge(name) > 0 && html` <span class="count">${badge(name)}</span>`}</a>`)}
        </nav>
      </header>
      <${Banners} status=${status} update=${update} onApplyUpdate=${onApplyUpdate}
        storageFull=${storageFull} onDismissStorage=${() => setStorageFull(false)} />
      <main class="main">${screen}</main>
      ${toast && html`<div class=${`toast ${toast.tone}`} role="status" data-testid="toast">${toast.text}</div>`}
      <${StatusBar} store=${store} status=${status} />
    </div>`;
}
