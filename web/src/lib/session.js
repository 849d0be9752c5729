// The till's session: which shop and device this browser profile is, and the open store.
//
// The device identity (device id, token, receipt prefix) lives in the database itself, in OPFS,
// where the package keeps it; it survives restarts with the database. localStorage keeps only a
// non-secret marker that set-up finished (shop id, device id, hub URL, names), so the app knows
// on start whether to open the store or to show first run *without* opening a database, because
// opening with no credentials would create a local-only database with no hub identity.
import { openStore, createShop, registerDevice, recoverShop } from 'tillsync';

const MARKER = 'tillsync.pos.device';

// The package's worker script and .wasm are copied into engine/ beside the app by
// scripts/build-web.sh, which also fills in their file names here (esbuild --define). Naming
// them explicitly keeps the app independent of how the bundler rewrites import.meta.url.
/* global __ENGINE_WORKER__, __ENGINE_WASM__ */
const ASSETS = {
  workerUrl: new URL(__ENGINE_WORKER__, document.baseURI),
  wasmUrl: new URL(__ENGINE_WASM__, document.baseURI),
};

export function setupMarker() {
  try {
    return JSON.parse(localStorage.getItem(MARKER) || 'null');
  } catch {
    return null;
  }
}

function saveMarker(store, extra) {
  const id = store.identity;
  localStorage.setItem(MARKER, JSON.stringify({ shopId: id.shopId, deviceId: id.deviceId, ...extra,
    setupAt: Date.now() }));
}

export function forgetMarker() {
  localStorage.removeItem(MARKER);
}

/** Reopens the store of a till that finished set-up. */
export async function reopen() {
  const store = await openStore({ ...ASSETS });
  const marker = setupMarker();
  if (store.identity.local || (marker && store.identity.deviceId !== marker.deviceId)) {
    // The marker survived but the database did not (site data partly cleared): set up again.
    await store.close();
    forgetMarker();
    return null;
  }
  return store;
}

/**
 * Opens the store with new hub credentials. If a database already exists with another identity
 * (a set-up that crashed before the marker was written), it is replaced only when nothing in it
 * is waiting for the hub: a till never throws away a recorded sale.
 */
async function openWith(credentials, extra) {
  let store = await openStore({ ...ASSETS, hub: credentials });
  if (store.identity.deviceId !== credentials.deviceId) {
    const st = await store.status();
    if (st.pending > 0 || st.quarantined > 0) {
      await store.close();
      throw new Error(`This browser already holds a till (${store.identity.deviceId}) with ${st.pending} `
        + 'sales or changes not yet uploaded. Open it and let it sync first.');
    }
    await store.clearLocalData();
    store = await openStore({ ...ASSETS, hub: credentials });
  }
  saveMarker(store, { hubUrl: credentials.url, shopName: credentials.shopName ?? extra.shopName,
    deviceName: extra.deviceName });
  return store;
}

export async function createShopAndDevice({ hubUrl, operatorToken, shopName, currency, deviceName }) {
  const shop = await createShop(hubUrl, operatorToken, shopName, currency);
  const credentials = await registerDevice(hubUrl, shop.shopToken, deviceName);
  const store = await openWith(credentials, { shopName, deviceName });
  return { store, shop };
}

export async function joinShop({ hubUrl, shopToken, deviceName }) {
  const credentials = await registerDevice(hubUrl, shopToken, deviceName);
  const store = await openWith(credentials, { deviceName });
  return { store };
}

export async function recoverAndJoin({ hubUrl, recoveryCode, deviceName }) {
  const shop = await recoverShop(hubUrl, recoveryCode);
  const credentials = await registerDevice(hubUrl, shop.shopToken, deviceName);
  const store = await openWith(credentials, { deviceName });
  return { store, shop };
}
