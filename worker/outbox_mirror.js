// outbox_mirror.js: keeps a copy of the NEXT push request (URL, device token, exact body) in
// IndexedDB, where the app's service worker can read it and upload it with Background Sync when
// no tab is open (service workers cannot open the database: OPFS sync access handles exist only
// in dedicated workers). The outbox in the database stays the truth; this is a copy.
//
// Why a double send is harmless: the body carries operations with ids the device chose before
// the first attempt (device id + seq). The hub applies each id once and answers a replay with its
// first answer; the device, when it next syncs, sends the same operations again and gets those
// answers. Format (IndexedDB database "tillsync-outbox-mirror", version 1, object store
// "pushes", key = the store name passed to openStore, default "tillsync"):
//     {v: 1, name, url: "<hub>/v1/push", token: "tsk_dev_...", body: "<exact JSON body>",
//      count: <operations in body>, updatedAt: <epoch ms>}
// The entry is deleted when nothing is pending. See worker/README.md for the service worker side.

export const MIRROR_DB = 'tillsync-outbox-mirror';
export const MIRROR_STORE = 'pushes';

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export class OutboxMirror {
  constructor(name) {
    this.name = name;
    this.db = null;
  }

  async open() {
    if (this.db) return this.db;
    const req = indexedDB.open(MIRROR_DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(MIRROR_STORE);
    this.db = await request(req);
    return this.db;
  }

  async put({ url, token, body, count }) {
    const db = await this.open();
    const tx = db.transaction(MIRROR_STORE, 'readwrite');
    tx.objectStore(MIRROR_STORE).put({ v: 1, name: this.name, url, token, body, count, updatedAt: Date.now() }, this.name);
    await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); tx.onabort = () => reject(tx.error); });
  }

  async clear() {
    const db = await this.open();
    const tx = db.transaction(MIRROR_STORE, 'readwrite');
    tx.objectStore(MIRROR_STORE).delete(this.name);
    await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); tx.onabort = () => reject(tx.error); });
  }
}

// For a service worker: every mirrored push, to POST as-is (see worker/README.md).
export async function readMirroredPushes() {
  const req = indexedDB.open(MIRROR_DB, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(MIRROR_STORE);
  const db = await request(req);
  try {
    return await request(db.transaction(MIRROR_STORE, 'readonly').objectStore(MIRROR_STORE).getAll());
  } finally {
    db.close();
  }
}
