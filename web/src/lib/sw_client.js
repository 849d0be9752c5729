// The page's side of the service worker: register it, notice a new version waiting, and apply
// it without ever leaving a tab blank.
//
// Applying: the tab that pressed "Update now" tells the waiting worker to skip waiting and
// reloads only when the new worker controls it (controllerchange): reloading earlier would load
// the old version again. Other open tabs are not reloaded under a cashier's hands; they show a
// banner instead, and keep working because the new worker keeps the previous version's cache
// (sw.js deletes only older ones), so every file they may still fetch is there.

export function registerServiceWorker({ onUpdate }) {
  if (!('serviceWorker' in navigator)) return null;
  let initiated = false;
  const hadController = !!navigator.serviceWorker.controller;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (initiated) location.reload();
    else if (hadController) onUpdate({ elsewhere: true });
  });
  const ready = navigator.serviceWorker.register('./sw.js', { scope: './' }).then((reg) => {
    const offer = () => {
      // A waiting worker with no controller yet is the very first install: nothing to update.
      if (reg.waiting && navigator.serviceWorker.controller) {
        onUpdate({
          waiting: reg.waiting,
          apply: () => { initiated = true; reg.waiting?.postMessage({ type: 'skip-waiting' }); },
        });
      }
    };
    offer();
    reg.addEventListener('updatefound', () => {
      const next = reg.installing;
      next?.addEventListener('statechange', () => { if (next.state === 'installed') offer(); });
    });
    // Look for a new version now and then, and when the tab comes back to the front.
    setInterval(() => reg.update().catch(() => {}), 30 * 60 * 1000);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') reg.update().catch(() => {});
    });
    return reg;
  }).catch((e) => {
    console.warn('service worker registration failed', e);
    return null;
  });
  return ready;
}

/** Asks for a Background Sync so pending sales upload even after the last tab closes. */
export async function requestBackgroundUpload(regPromise) {
  const reg = await regPromise;
  if (!reg?.sync) return false;
  try {
    await reg.sync.register('tillsync-upload');
    return true;
  } catch {
    return false;  // denied (e.g. no permission in this profile): the open tab still syncs
  }
}
