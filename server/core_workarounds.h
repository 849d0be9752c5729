// CoreWorkarounds: server-side workarounds for known issues of the core, each described with the
// issue it works around, so it can be deleted when the core is fixed. Header-only; stateless.
#pragma once

#include <chrono>
#include <string>
#include <thread>

#include "core/hub.h"

namespace tillsync::server {

// Hub::RegisterDevice reads the shop's device count with a statement that is still active (not
// reset) when it runs BEGIN IMMEDIATE, so the connection asks to upgrade a read transaction to
// a write transaction. SQLite answers SQLITE_BUSY at once, without the busy timeout, when any
// other connection to the file committed after that read began or holds the write lock at that
// moment (waiting could deadlock a reader-turned-writer): the server's AuthStore issuing a token
// on another thread, an operator's CLI revoking one. Nothing was written by the failed attempt,
// so trying again after a short wait is safe. The fix in core/hub.cc: let that statement go out
// of scope (or Reset() it) before txn.Begin().
inline Status RegisterDeviceRetrying(Hub* hub, const std::string& shop_id, const std::string& name,
                                     DeviceRecord* out) {
  Status s;
  int wait_ms = 1;
  for (int attempt = 0; attempt < 12; ++attempt) {  // about 2 s in all
    s = hub->RegisterDevice(shop_id, name, out);
    if (s.code() != ErrorCode::kBusy) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    wait_ms = wait_ms < 256 ? wait_ms * 2 : 256;
  }
  return s;
}

}  // namespace tillsync::server
