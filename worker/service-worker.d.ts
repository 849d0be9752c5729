// tillsync/service-worker: helpers for an app's service worker (see worker/README.md).

export interface MirroredPush {
  v: 1;
  name: string;        // the store name given to openStore (default "tillsync")
  url: string;         // "<hub>/v1/push"
  token: string;       // the device token (Authorization: Bearer <token>)
  body: string;        // the exact JSON body of the next push
  count: number;       // operations in body
  updatedAt: number;   // epoch ms
}

export function readMirroredPushes(): Promise<MirroredPush[]>;
/** POSTs every mirrored push; removes an entry after a 200 unless the database worker replaced it
 * meanwhile. Rejects when the hub could not be reached (so Background Sync retries). */
export function uploadMirroredPushes(fetchImpl?: typeof fetch):
  Promise<{ name: string; status: number; count: number }[]>;
