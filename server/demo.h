// Demo: the shop that `npm start` (serve --demo) shows. Created once and idempotently: a shop
// "Demo Corner Shop" (EUR), a catalog of 36 products in 6 categories (integer cent prices, tax
// rates in basis points) and a stock receipt for every product, so the PWA has something to sell
// on first start.
//
// Writes go through the core, so they replicate like any other row:
// - the catalog through Hub::AdminWrite (what an operator's catalog edit is);
// - the stock receipts also through Hub::AdminWrite, as stock_movements rows of the demo shop.
//   A receipt is a delivery booked by the operator on the hub, not a sale a till made, so it has
//   no device sequence to replay; it takes a hub sequence number and reaches the shop's devices
//   on their next pull exactly like a pushed row. (The alternative, a server-side core Device
//   of the demo shop pushing into the in-process Hub, needs a second database file and a sync
//   loop for the same result.) Fixed row ids and a fixed created_at (the shop's creation time)
//   make a re-run after a crash write the same rows again, which the merge rules accept as
//   no-ops.
//
// Demo credentials are stable across restarts: a random 32-byte seed is stored in _srv_settings
// the first time (demo databases only), and the demo operator and shop tokens are
// HMAC-SHA256(seed, "operator" | "shop"). Only their hashes enter _srv_tokens, as for every
// token; the seed is what makes them re-derivable, so a demo database must be treated as a
// secret, and --demo is for a laptop, not a public hub.
//
// Runs on the serving thread before the HTTP server starts. Uses the writer through
// PushCommitter::Run.
#pragma once

#include <string>

#include "server/auth_store.h"
#include "server/push_committer.h"

namespace tillsync::server {

struct DemoCredentials {
  std::string operator_token;
  std::string shop_id;
  std::string shop_name;
  std::string shop_token;
  int products = 0;
  bool created_now = false;
};

Status EnsureDemo(PushCommitter* writer, AuthStore* auth, DemoCredentials* out);

}  // namespace tillsync::server
