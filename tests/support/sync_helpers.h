// Small helpers for tests that drive devices and a hub in one process: the test plays the
// transport, handing request bytes to the hub and answer bytes back to the device, exactly as
// the browser worker does over HTTP. Header-only so it adds nothing to tillsync_testing.
// Every helper returns a Status (or a plain value) rather than asserting, so callers decide
// whether a failure is expected.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/database.h"
#include "core/device.h"
#include "core/hub.h"

namespace tillsync {
namespace test_support {

// What the server builds from the device's token; the body is never trusted for it.
inline Caller CallerOf(Device* d) { return Caller{d->identity().shop_id, d->identity().device_id, false}; }

// A sale of these lines (and payments: none means one exact cash payment).
inline SaleInput Sale(std::vector<SaleLineInput> lines, std::vector<PaymentInput> payments = {}) {
  SaleInput sale;
  sale.lines = std::move(lines);
  sale.payments = std::move(payments);
  return sale;
}

// Pushes until the outbox is empty (or the hub refuses the push as a whole).
inline Status PushAll(Hub* hub, Device* d) {
  for (int guard = 0; d->HasPending(); ++guard) {
    if (guard > 10000) return Status(ErrorCode::kInternal, "push loop does not end");
    std::string body, answer;
    int64_t n = 0;
    TS_RETURN_IF_ERROR(d->BuildPush(&body, &n));
    TS_RETURN_IF_ERROR(hub->Push(CallerOf(d), body, &answer));
    TS_RETURN_IF_ERROR(d->HandlePushResponse(answer));
  }
  return Status::Ok();
}

// Pulls pages until the hub says there is no more. *pages counts the pages taken.
inline Status PullAll(Hub* hub, Device* d, PullOutcome* last = nullptr, int* pages = nullptr) {
  PullOutcome out;
  int n = 0;
  do {
    if (++n > 10000) return Status(ErrorCode::kInternal, "pull loop does not end");
    std::string body, answer;
    TS_RETURN_IF_ERROR(d->BuildPull(&body));
    TS_RETURN_IF_ERROR(hub->Pull(CallerOf(d), body, &answer));
    TS_RETURN_IF_ERROR(d->HandlePullResponse(answer, &out));
  } while (out.more);
  if (last != nullptr) *last = out;
  if (pages != nullptr) *pages = n;
  return Status::Ok();
}

// One full sync cycle as the worker runs it: push everything, pull until done, record success.
inline Status SyncOnce(Hub* hub, Device* d) {
  d->SyncStarted();
  Status s = PushAll(hub, d);
  if (s.ok()) s = PullAll(hub, d);
  if (!s.ok()) {
    (void)d->SyncFailed(s, false);
    return s;
  }
  return d->SyncSucceeded();
}

// The single integer a query returns (-1 when it returns no row or fails).
inline int64_t QueryInt(Database* db, const std::string& sql) {
  Statement st;
  if (!db->Prepare(sql, &st).ok()) return -1;
  bool row = false;
  if (!st.Step(&row).ok() || !row) return -1;
  return st.Int(0);
}

// Every row of a query as text, one line per row, each value followed by "|" (NULL for null). A
// query that fails gives "error: " and the error, which no expected text matches.
inline std::string QueryRowsText(Database* db, const char* sql) {
  Statement st;
  Status s = db->Prepare(sql, &st);
  if (!s.ok()) return "error: " + s.ToString();
  std::string out;
  bool row = false;
  while (true) {
    s = st.Step(&row);
    if (!s.ok()) return out + "error: " + s.ToString();
    if (!row) break;
    for (int c = 0; c < st.ColumnCount(); ++c) out += (st.IsNull(c) ? std::string("NULL") : st.Text(c)) + "|";
    out += "\n";
  }
  return out;
}

// "ok" for a sound database, else SQLite's list of problems (or the error that stopped it).
inline std::string IntegrityCheck(Database* db) {
  Statement st;
  Status s = db->Prepare("PRAGMA integrity_check", &st);
  if (!s.ok()) return s.ToString();
  std::string out;
  bool row = false;
  while (true) {
    s = st.Step(&row);
    if (!s.ok()) return s.ToString();
    if (!row) break;
    if (!out.empty()) out += "\n";
    out += st.Text(0);
  }
  return out;
}

// Every row of every table of the database (engine bookkeeping included), as sorted text: two
// databases with equal logical content give equal dumps whatever their page layout. Used to
// check that a transaction left the database exactly before or exactly after it.
inline std::string LogicalDump(Database* db) {
  Statement tables;
  if (!db->Prepare("SELECT name FROM sqlite_schema WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                   &tables).ok())
    return "<cannot list tables>";
  std::string out;
  bool row = false;
  while (tables.Step(&row).ok() && row) {
    std::string name = tables.Text(0);
    Statement st;
    if (!db->Prepare("SELECT * FROM \"" + name + "\" ORDER BY 1, 2", &st).ok()) return "<cannot read " + name + ">";
    out += "## " + name + "\n";
    bool r = false;
    while (st.Step(&r).ok() && r) {
      for (int c = 0; c < st.ColumnCount(); ++c) {
        if (c > 0) out += "|";
        switch (st.ColumnType(c)) {
          case SQLITE_NULL: out += "NULL"; break;
          case SQLITE_INTEGER: out += std::to_string(st.Int(c)); break;
          default: out += "'" + st.Text(c) + "'"; break;
        }
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace test_support
}  // namespace tillsync
