// Error messages a cashier can act on. The package rejects with a TillsyncError whose `code` is
// stable (core/status.h); the few codes a person must understand get their own words.
const WORDS = {
  storage_full: 'Storage on this device is full. Free space on the device (or clear old browser data) '
    + 'and try again.',
  unsynced_data: 'There are sales or changes on this device that the hub has not received yet.',
  update_required: 'The hub needs a newer version of this app before it accepts uploads.',
  unauthorized: 'The hub did not accept these credentials.',
  not_found: 'Not found.',
  status_regression: 'This sale was already voided or refunded.',
  network: 'The hub could not be reached. Check the network and the hub address.',
};

export function describeError(e) {
  if (!e) return '';
  const code = e.code || (e.name === 'TypeError' && /fetch/i.test(e.message) ? 'network' : null);
  const words = code && WORDS[code];
  if (words) return words;
  return e.message || String(e);
}

export function errorCode(e) {
  return e?.code || null;
}
