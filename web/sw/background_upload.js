// Background upload: pending sales reach the hub even when no tab of the till is open.
//
// The package's database worker keeps a copy of its next ready-to-send push request where a
// service worker can read it (IndexedDB; worker/outbox_mirror.js documents the format), and the
// package's service-worker helpers POST it. This service worker never opens the database: OPFS
// sync access handles exist only in dedicated workers, and the package's worker owns them.
//
// A double send is harmless: the operations carry ids the device chose before the first
// attempt, the hub applies each id once and answers a replay with its first answer; when a tab
// opens later and the package pushes the same operations, nothing is applied twice.
import { uploadMirroredPushes } from 'tillsync/service-worker';

/**
 * Uploads every mirrored push. Rejects when the hub could not be reached or was busy, so that
 * the browser schedules the Background Sync again; other refusals (update required, a revoked
 * token) need the app, which meets the same answer at its next sync and shows it.
 */
export async function uploadPending() {
  const results = await uploadMirroredPushes();
  const busy = results.find((r) => r.status === 429 || r.status >= 500);
  if (busy) throw new Error(`hub busy (HTTP ${busy.status}); Background Sync will retry`);
  return results;
}
