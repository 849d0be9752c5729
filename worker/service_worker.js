// service_worker.js: what an app's service worker imports (`tillsync/service-worker`) to upload
// the pushes the database worker mirrored into IndexedDB (outbox_mirror.js) when no tab is open,
// typically from a Background Sync event:
//
//   import { uploadMirroredPushes } from 'tillsync/service-worker';
//   self.addEventListener('sync', (e) => {
//     if (e.tag === 'tillsync-upload') e.waitUntil(uploadMirroredPushes());
//   });
//
// It never opens the database (it cannot: OPFS sync access handles exist only in dedicated
// workers). A push sent here and later again by the database worker is harmless: the hub
// applies each operation id once and answers a replay with its first answer.
import { MIRROR_DB, MIRROR_STORE, readMirroredPushes } from './outbox_mirror.js';

export { readMirroredPushes };

// POSTs every mirrored push. Resolves with [{name, status, count}]; rejects when one could not
// be sent at all (network), so Background Sync retries later. An entry is removed after a 200
// only if the database worker did not replace it meanwhile; a 4xx answer is left for the worker,
// which will meet the same answer and show it to the cashier.
export async function uploadMirroredPushes(fetchImpl = (...a) => fetch(...a)) {
  const entries = await readMirroredPushes();
  const results = [];
  let unreachable = null;
  for (const entry of entries) {
    let res;
    try {
      res = await fetchImpl(entry.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${entry.token}` },
        body: entry.body,
      });
    } catch (e) {
      unreachable = e;
      continue;
    }
    results.push({ name: entry.name, status: res.status, count: entry.count });
    if (res.ok) await removeIfUnchanged(entry);
  }
  if (unreachable) throw unreachable;
  return results;
}

async function removeIfUnchanged(entry) {
  const db = await new Promise((resolve, reject) => {
    const req = indexedDB.open(MIRROR_DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(MIRROR_STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  try {
    const tx = db.transaction(MIRROR_STORE, 'readwrite');
    const store = tx.objectStore(MIRROR_STORE);
    const get = store.get(entry.name);
    get.onsuccess = () => {
      if (get.result && get.result.updatedAt === entry.updatedAt && get.result.body === entry.body) store.delete(entry.name);
    };
    await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
  } finally {
    db.close();
  }
}
