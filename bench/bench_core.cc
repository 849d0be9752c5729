// bench_core: what the sync engine costs on the write path, side by side with the raw limit.
// A program that prints figures, not a test (see bench/README.md).
//
// 1. Sale commit: order + 3 lines + 1 payment + 3 stock movements, one transaction, on a real
//    file in a temp dir, WAL, same pragmas on both sides. Three ways, in interleaved rounds so
//    disk noise hits all of them alike:
//      plain     the 8 rows with prepared INSERTs, nothing else (what an app without sync does)
//      +bookkeeping  the same, plus the rows the engine adds (8 row-metadata rows, checksum,
//                counters, an outbox row with a ready-made JSON text): the SQL cost alone
//      engine    Device::RecordSale: prices looked up, totals and tax computed, the operation
//                validated, merged, hashed, encoded and queued
//    at synchronous=FULL (what the product runs) and NORMAL (no fsync per commit: the CPU cost).
// 2. Hub apply: Hub::Push of batches of 50 pushed sale operations (durable, WAL FULL), and
//    Hub::PushGroup (several devices' pushes in one commit, as the server's push writer does).
//
// Usage: bench_core [--sales N] [--rounds R] [--dir DIR] [--hub-sales N]
//        bench_core --profile N    (N engine sales at synchronous=OFF only, to run under perf)
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/hub.h"
#include "core/migrations.h"
#include "core/outbox_text.h"
#include "tests/support/sync_helpers.h"

namespace tillsync {
namespace {

using Clock = std::chrono::steady_clock;

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

void Die(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "bench_core: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

struct Series {
  std::vector<double> us;  // one latency per commit
  double Total() const {
    double t = 0;
    for (double v : us) t += v;
    return t;
  }
  double PerSecond() const { return us.empty() ? 0 : double(us.size()) / (Total() / 1e6); }
  double Percentile(double p) const {
    if (us.empty()) return 0;
    std::vector<double> v = us;
    std::sort(v.begin(), v.end());
    size_t i = size_t(std::ceil(p * double(v.size()))) - 1;
    return v[std::min(i, v.size() - 1)];
  }
};

// --- The three ways to commit a sale -----------------------------------------------------------

struct Catalog {
  struct Item {
    std::string id, name;
    int64_t price, tax_bp;
  };
  std::vector<Item> items = {{"p1", "Coffee", 250, 2000}, {"p2", "Croissant", 180, 1000}, {"p3", "Juice", 320, 2000}};
  std::vector<int64_t> qty = {1, 2, 1};
};

// A device database with the catalog, made the way a till gets one: from a hub.
std::unique_ptr<Device> MakeTill(const std::string& dir, const std::string& name, const std::string& synchronous,
                                 Hub* hub, const ShopRecord& shop, Env* env) {
  DeviceRecord rec;
  Die(hub->RegisterDevice(shop.id, name, &rec), "register device");
  DeviceOptions o;
  o.env = env;
  o.open.synchronous = synchronous;
  std::unique_ptr<Device> d;
  Die(Device::Open(dir + "/" + name + ".db", DeviceIdentity{rec.id, shop.id, rec.receipt_prefix, "EUR"}, o, &d),
      "open device");
  Die(test_support::SyncOnce(hub, d.get()), "initial sync");
  return d;
}

// Plain SQLite: the same eight rows, prepared INSERTs, one transaction. With `bookkeeping`, also
// the rows the engine writes beside them, as plain SQL with values made up front.
class PlainSales {
 public:
  PlainSales(const std::string& path, const std::string& synchronous, bool bookkeeping, size_t outbox_bytes)
      : bookkeeping_(bookkeeping) {
    OpenOptions o;
    o.synchronous = synchronous;
    Die(Database::Open(path, o, &db_), "open plain");
    Die(Migrate(db_.get()), "migrate plain");  // the same tables and indexes as the engine's
    // An outbox entry as long as the engine's for such a sale, made once (the engine encodes
    // one per sale: that CPU is what this variant leaves out).
    outbox_json_ = std::string(outbox_bytes, 'x');
  }

  Status Commit() {
    ++n_;
    const std::string o = "order-" + std::to_string(n_);
    const int64_t now = 1'700'000'000'000 + n_;
    Transaction txn(db_.get());
    TS_RETURN_IF_ERROR(txn.Begin());
    Statement* st = nullptr;
    TS_RETURN_IF_ERROR(db_->Cached(
        "INSERT INTO sales_orders (id, shop_id, device_id, receipt_no, status, customer_id, subtotal_minor, tax_minor,"
        " total_minor, currency, created_at) VALUES (?1,?2,?3,?4,'completed',NULL,?5,?6,?7,'EUR',?8)", &st));
    st->Bind(1, o).Bind(2, std::string_view("shop_0123456789abcdef")).Bind(3, std::string_view("dev_0123456789abcdef"))
        .Bind(4, "D1-" + std::to_string(n_)).Bind(5, int64_t(1250)).Bind(6, int64_t(212)).Bind(7, int64_t(1462)).Bind(8, now);
    TS_RETURN_IF_ERROR(st->Run());
    TS_RETURN_IF_ERROR(Meta("sales_orders", o));
    for (size_t i = 0; i < catalog_.items.size(); ++i) {
      const Catalog::Item& it = catalog_.items[i];
      const std::string line = o + "-l" + std::to_string(i);
      TS_RETURN_IF_ERROR(db_->Cached(
          "INSERT INTO order_lines (id, order_id, shop_id, product_id, name, qty, unit_price_minor, tax_minor,"
          " line_total_minor) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)", &st));
      st->Bind(1, line).Bind(2, o).Bind(3, std::string_view("shop_0123456789abcdef")).Bind(4, it.id).Bind(5, it.name)
          .Bind(6, catalog_.qty[i]).Bind(7, it.price).Bind(8, int64_t(50)).Bind(9, it.price * catalog_.qty[i]);
      TS_RETURN_IF_ERROR(st->Run());
      TS_RETURN_IF_ERROR(Meta("order_lines", line));
    }
    TS_RETURN_IF_ERROR(db_->Cached(
        "INSERT INTO payments (id, order_id, shop_id, method, amount_minor, tendered_minor, change_minor)"
        " VALUES (?1,?2,?3,'cash',?4,?4,0)", &st));
    st->Bind(1, o + "-pay").Bind(2, o).Bind(3, std::string_view("shop_0123456789abcdef")).Bind(4, int64_t(1462));
    TS_RETURN_IF_ERROR(st->Run());
    TS_RETURN_IF_ERROR(Meta("payments", o + "-pay"));
    for (size_t i = 0; i < catalog_.items.size(); ++i) {
      const std::string move = o + "-m" + std::to_string(i);
      TS_RETURN_IF_ERROR(db_->Cached(
          "INSERT INTO stock_movements (id, shop_id, product_id, qty_delta, kind, ref_id, created_at)"
          " VALUES (?1,?2,?3,?4,'sale',?5,?6)", &st));
      st->Bind(1, move).Bind(2, std::string_view("shop_0123456789abcdef")).Bind(3, catalog_.items[i].id)
          .Bind(4, -catalog_.qty[i]).Bind(5, o).Bind(6, now);
      TS_RETURN_IF_ERROR(st->Run());
      TS_RETURN_IF_ERROR(Meta("stock_movements", move));
    }
    if (bookkeeping_) {
      TS_RETURN_IF_ERROR(db_->Cached("INSERT INTO _ts_outbox (seq, op, created_at) VALUES (?1, ?2, ?3)", &st));
      st->Bind(1, n_).Bind(2, outbox_json_).Bind(3, now);
      TS_RETURN_IF_ERROR(st->Run());
      for (const char* key : {"next_seq", "hlc", "receipt_counter", "row_counter"}) TS_RETURN_IF_ERROR(Kv(key));
    }
    return txn.Commit();
  }

 private:
  // What RowStore::Store adds per row: the metadata row and the scope checksum moved.
  Status Meta(const char* table, const std::string& id) {
    if (!bookkeeping_) return Status::Ok();
    Statement* st = nullptr;
    TS_RETURN_IF_ERROR(db_->Cached(
        "INSERT OR REPLACE INTO _ts_rows (tbl, id, scope, seq, version, clocks, hash) VALUES (?1,?2,?3,0,0,?4,?5)", &st));
    st->Bind(1, std::string_view(table)).Bind(2, id).Bind(3, std::string_view("shop_0123456789abcdef"))
        .Bind(4, std::string_view("{\"*\":\"0018bcfe568000.0000.dev_0123456789abcdef\"}")).Bind(5, int64_t(n_ * 7919));
    TS_RETURN_IF_ERROR(st->Run());
    TS_RETURN_IF_ERROR(db_->Cached("SELECT sum FROM _ts_checksum WHERE scope=?1", &st));
    st->Bind(1, std::string_view("shop_0123456789abcdef"));
    bool row = false;
    TS_RETURN_IF_ERROR(st->Step(&row));
    int64_t sum = row ? st->Int(0) : 0;
    st->Reset();
    TS_RETURN_IF_ERROR(db_->Cached("INSERT OR REPLACE INTO _ts_checksum (scope, sum) VALUES (?1, ?2)", &st));
    st->Bind(1, std::string_view("shop_0123456789abcdef")).Bind(2, int64_t(uint64_t(sum) + 12345));
    return st->Run();
  }
  Status Kv(const char* key) {
    Statement* st = nullptr;
    TS_RETURN_IF_ERROR(db_->Cached("INSERT OR REPLACE INTO _ts_kv (key, value) VALUES (?1, ?2)", &st));
    st->Bind(1, std::string_view(key)).Bind(2, std::to_string(n_));
    return st->Run();
  }

  bool bookkeeping_;

 public:
  std::unique_ptr<Database> db_;

 private:
  Catalog catalog_;
  std::string outbox_json_;
  int64_t n_ = 0;
};

struct SaleRun {
  Series plain, bookkeeping, engine;
  double pages_plain = 0, pages_bookkeeping = 0, pages_engine = 0;  // pages written per commit
};

// Database pages this connection has written to the WAL so far.
int64_t PagesWritten(Database* db) {
  int cur = 0, high = 0;
  sqlite3_db_status(db->raw(), SQLITE_DBSTATUS_CACHE_WRITE, &cur, &high, 0);
  return cur;
}

// Interleaved rounds: each round commits `per_round` sales each way, in rotating order.
SaleRun RunSales(const std::string& dir, const std::string& synchronous, int sales, int rounds, bool with_bookkeeping,
                 size_t outbox_bytes, bool engine_only = false) {
  std::string sub = dir + "/sales-" + synchronous;
  std::filesystem::create_directories(sub);
  ManualEnv env(1'700'000'000'000, 3);
  HubOptions ho;
  ho.env = &env;
  ho.open.synchronous = "OFF";  // provisioning only
  std::unique_ptr<Hub> hub;
  Die(Hub::Open(sub + "/hub.db", ho, &hub), "open hub");
  ShopRecord shop;
  Die(hub->CreateShop("Bench", "EUR", &shop), "shop");
  Catalog cat;
  std::vector<Change> products;
  for (const Catalog::Item& it : cat.items)
    products.push_back(Change{"products", it.id,
                              Json{{"name", it.name}, {"price_minor", it.price}, {"tax_rate_bp", it.tax_bp}, {"active", 1}}});
  Die(hub->AdminWrite(products), "catalog");
  std::unique_ptr<Device> till = MakeTill(sub, "till", synchronous, hub.get(), shop, &env);
  PlainSales plain(sub + "/plain.db", synchronous, false, 0);
  PlainSales booked(sub + "/booked.db", synchronous, true, outbox_bytes);

  SaleInput sale;
  for (size_t i = 0; i < cat.items.size(); ++i) sale.lines.push_back(SaleLineInput{cat.items[i].id, cat.qty[i]});
  SaleRun run;
  // Warm-up, not measured: every database reaches its steady state (a full-size WAL that
  // checkpoints and is then overwritten, not grown), so no variant pays for file growth alone.
  for (int i = 0; i < 300; ++i) {
    SaleResult result;
    env.Advance(7);
    Die(plain.Commit(), "warm-up");
    if (with_bookkeeping) Die(booked.Commit(), "warm-up");
    Die(till->RecordSale(sale, &result), "warm-up");
  }
  const int64_t pages0[3] = {PagesWritten(plain.db_.get()), PagesWritten(booked.db_.get()), PagesWritten(till->db())};
  const int per_round = std::max(1, sales / rounds);
  auto time_one = [](Series* s, const std::function<Status()>& fn, const char* what) {
    Clock::time_point t0 = Clock::now();
    Die(fn(), what);
    s->us.push_back(Micros(Clock::now() - t0));
  };
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < 3; ++k) {
      int which = (r + k) % 3;
      if (which == 1 && !with_bookkeeping) continue;
      if (which != 2 && engine_only) continue;
      for (int i = 0; i < per_round; ++i) {
        env.Advance(7);
        if (which == 0) time_one(&run.plain, [&] { return plain.Commit(); }, "plain sale");
        if (which == 1) time_one(&run.bookkeeping, [&] { return booked.Commit(); }, "plain+bookkeeping sale");
        if (which == 2) {
          SaleResult result;
          time_one(&run.engine, [&] { return till->RecordSale(sale, &result); }, "RecordSale");
        }
      }
    }
  }
  auto per = [](int64_t pages, const Series& s) { return s.us.empty() ? 0.0 : double(pages) / double(s.us.size()); };
  run.pages_plain = per(PagesWritten(plain.db_.get()) - pages0[0], run.plain);
  run.pages_bookkeeping = per(PagesWritten(booked.db_.get()) - pages0[1], run.bookkeeping);
  run.pages_engine = per(PagesWritten(till->db()) - pages0[2], run.engine);
  return run;
}

// --- CPU micro-costs inside RecordSale --------------------------------------------------------------

struct MicroCosts {
  double encode_op_us = 0, row_hashes_us = 0, validate_us = 0;
  // The same pieces on the sale's typed rows (core/typed_change.h), as RecordSale runs them.
  double typed_encode_op_us = 0, typed_row_hashes_us = 0, typed_validate_us = 0;
  size_t op_bytes = 0;       // the stored outbox text (the bookkeeping variant writes this many)
  size_t op_full_bytes = 0;  // the same operation in full, as pushed
};

MicroCosts MeasureMicro(const std::string& dir) {
  // Take a real queued sale operation from a till, then time its pieces in a loop.
  std::string sub = dir + "/micro";
  std::filesystem::create_directories(sub);
  ManualEnv env(1'700'000'000'000, 4);
  HubOptions ho;
  ho.env = &env;
  ho.open.synchronous = "OFF";
  std::unique_ptr<Hub> hub;
  Die(Hub::Open(sub + "/hub.db", ho, &hub), "open hub");
  ShopRecord shop;
  Die(hub->CreateShop("Bench", "EUR", &shop), "shop");
  Catalog cat;
  std::vector<Change> products;
  for (const Catalog::Item& it : cat.items)
    products.push_back(Change{"products", it.id,
                              Json{{"name", it.name}, {"price_minor", it.price}, {"tax_rate_bp", it.tax_bp}, {"active", 1}}});
  Die(hub->AdminWrite(products), "catalog");
  std::unique_ptr<Device> till = MakeTill(sub, "till", "OFF", hub.get(), shop, &env);
  SaleInput sale;
  for (size_t i = 0; i < cat.items.size(); ++i) sale.lines.push_back(SaleLineInput{cat.items[i].id, cat.qty[i]});
  SaleResult result;
  Die(till->RecordSale(sale, &result), "sale");
  Json outbox;
  Die(till->ListOutbox(&outbox), "outbox");
  Json j;
  Die(ParseJson(outbox[0]["op"].get<std::string>(), &j), "parse");
  Operation op;
  Die(OperationFromJson(j, "op", &op), "decode");

  MicroCosts m;
  const int n = 20000;
  Clock::time_point t0 = Clock::now();
  size_t sink = 0;
  const OutboxWriter writer{shop.id, till->identity().device_id};
  for (int i = 0; i < n; ++i) sink += OutboxText(op, writer).size();  // what WriteInTxn queues
  m.encode_op_us = Micros(Clock::now() - t0) / n;
  m.op_bytes = sink / n;
  m.op_full_bytes = OperationText(op).size();
  t0 = Clock::now();
  uint64_t h = 0;
  for (int i = 0; i < n; ++i)
    for (const Change& c : op.changes) {
      const TableSpec& spec = *FindTable(c.table);
      h += RowStore::RowHash(spec, c.id, RowStore::Normalize(spec, c.values));
    }
  m.row_hashes_us = Micros(Clock::now() - t0) / n;
  t0 = Clock::now();
  Caller self{shop.id, till->identity().device_id, false};
  for (int i = 0; i < n; ++i) {
    for (size_t k = 0; k < op.changes.size(); ++k)
      Die(ValidateChangeValues(*FindTable(op.changes[k].table), op.changes[k], "c"), "validate");
    Die(ValidateOperation(op, self), "validate op");
  }
  m.validate_us = Micros(Clock::now() - t0) / n;

  // The operation as typed rows: each change's values as cells in its table's column order.
  TypedOperation typed;
  typed.seq = op.seq;
  typed.hlc = op.hlc;
  typed.wall_ms = op.wall_ms;
  for (const Change& c : op.changes) {
    const TableSpec& spec = *FindTable(c.table);
    TypedChange& t = typed.changes.emplace_back(NewTypedChange(spec, c.id));
    for (size_t k = 0; k < spec.columns.size(); ++k) {
      auto it = c.values.find(spec.columns[k].name);
      if (it == c.values.end()) continue;
      if (it->is_string()) SetText(t, k, it->get_ref<const std::string&>());
      else if (it->is_number_integer()) SetInt(t, k, it->get<int64_t>());
    }
  }
  Die(TypedOutboxText(typed, writer) == OutboxText(op, writer) ? Status::Ok() : Status(ErrorCode::kInternal, "typed text differs"),
      "typed text");
  t0 = Clock::now();
  for (int i = 0; i < n; ++i) sink += TypedOutboxText(typed, writer).size();
  m.typed_encode_op_us = Micros(Clock::now() - t0) / n;
  RowStore rows(till->db(), RowMeta::kMergedRowsOnly, ChecksumHome::kKvTable);
  t0 = Clock::now();
  for (int i = 0; i < n; ++i)
    for (const TypedChange& c : typed.changes) h += rows.TypedRowHash(*c.spec, c.id, c.cells);
  m.typed_row_hashes_us = Micros(Clock::now() - t0) / n;
  t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    for (size_t k = 0; k < typed.changes.size(); ++k) Die(ValidateTypedChangeValues(typed.changes[k], k), "validate");
    Die(ValidateTypedOperation(typed, self), "validate op");
  }
  m.typed_validate_us = Micros(Clock::now() - t0) / n;
  if (h == 42 || sink == 42) std::printf(" ");  // keep the loops
  return m;
}

// --- Hub apply ----------------------------------------------------------------------------------

struct HubRun {
  Series per_push;  // one latency per Push (or per PushGroup)
  int64_t ops = 0;
  double seconds = 0;
};

// `devices` tills record `sales_each` sales offline; then their outboxes are pushed to a fresh
// hub in batches of `batch` ops, round-robin; with `group`, one PushGroup per round.
HubRun RunHub(const std::string& dir, const char* name, int devices, int sales_each, size_t batch, bool group) {
  std::string sub = dir + "/" + name;
  std::filesystem::create_directories(sub);
  ManualEnv env(1'700'000'000'000, 5);
  HubOptions ho;
  ho.env = &env;  // durable: WAL, synchronous=FULL (the default)
  std::unique_ptr<Hub> hub;
  Die(Hub::Open(sub + "/hub.db", ho, &hub), "open hub");
  std::vector<ShopRecord> shops(2);
  Die(hub->CreateShop("North", "EUR", &shops[0]), "shop");
  Die(hub->CreateShop("South", "EUR", &shops[1]), "shop");
  Catalog cat;
  std::vector<Change> products;
  for (const Catalog::Item& it : cat.items)
    products.push_back(Change{"products", it.id,
                              Json{{"name", it.name}, {"price_minor", it.price}, {"tax_rate_bp", it.tax_bp}, {"active", 1}}});
  Die(hub->AdminWrite(products), "catalog");
  std::vector<std::unique_ptr<Device>> tills;
  for (int i = 0; i < devices; ++i) {
    DeviceRecord rec;
    const ShopRecord& shop = shops[size_t(i) % shops.size()];
    Die(hub->RegisterDevice(shop.id, "till" + std::to_string(i), &rec), "register");
    DeviceOptions o;
    o.env = &env;
    o.open.synchronous = "OFF";  // the tills only produce the pushes; they are not measured
    o.push_batch = batch;
    std::unique_ptr<Device> d;
    Die(Device::Open(sub + "/till" + std::to_string(i) + ".db", DeviceIdentity{rec.id, shop.id, rec.receipt_prefix, "EUR"},
                     o, &d), "open till");
    Die(test_support::SyncOnce(hub.get(), d.get()), "sync");
    tills.push_back(std::move(d));
  }
  SaleInput sale;
  for (size_t i = 0; i < cat.items.size(); ++i) sale.lines.push_back(SaleLineInput{cat.items[i].id, cat.qty[i]});
  for (auto& d : tills)
    for (int s = 0; s < sales_each; ++s) {
      env.Advance(3);
      SaleResult r;
      Die(d->RecordSale(sale, &r), "offline sale");
    }

  HubRun run;
  bool any = true;
  while (any) {
    any = false;
    std::vector<PushCall> calls;
    std::vector<Device*> owners;
    for (auto& d : tills) {
      if (!d->HasPending()) continue;
      std::string body;
      int64_t n = 0;
      Die(d->BuildPush(&body, &n), "build push");
      run.ops += n;
      PushCall call;
      call.caller = test_support::CallerOf(d.get());
      call.body = std::move(body);
      calls.push_back(std::move(call));
      owners.push_back(d.get());
      any = true;
    }
    if (!any) break;
    if (group) {
      Clock::time_point t0 = Clock::now();
      Die(hub->PushGroup(&calls), "push group");
      run.per_push.us.push_back(Micros(Clock::now() - t0));
    } else {
      for (PushCall& call : calls) {
        Clock::time_point t0 = Clock::now();
        call.status = hub->Push(call.caller, call.body, &call.response);
        run.per_push.us.push_back(Micros(Clock::now() - t0));
      }
    }
    for (size_t i = 0; i < calls.size(); ++i) {
      Die(calls[i].status, "push");
      Die(owners[i]->HandlePushResponse(calls[i].response), "push answer");
    }
  }
  run.seconds = run.per_push.Total() / 1e6;
  HubStats st;
  Die(hub->Stats(&st), "stats");
  if (st.ops_applied != run.ops) {
    std::fprintf(stderr, "bench_core: hub applied %lld of %lld ops\n", (long long)st.ops_applied, (long long)run.ops);
    std::exit(1);
  }
  return run;
}

// --- The disk's own floor -----------------------------------------------------------------------

Series FsyncFloor(const std::string& dir, int n) {
  std::string path = dir + "/fsync-floor.bin";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  Series s;
  if (fd < 0) return s;
  char page[4096];
  std::memset(page, 7, sizeof page);
  for (int i = 0; i < n; ++i) {
    Clock::time_point t0 = Clock::now();
    if (::pwrite(fd, page, sizeof page, off_t(i % 64) * 4096) != ssize_t(sizeof page) || ::fdatasync(fd) != 0) break;
    s.us.push_back(Micros(Clock::now() - t0));
  }
  ::close(fd);
  return s;
}

void PrintRow(const char* mode, const char* what, const Series& s, double pages, const Series* base) {
  std::printf("  %-8s %-36s %9.0f %9.3f %9.3f %6.1f", mode, what, s.PerSecond(), s.Percentile(0.50) / 1000,
              s.Percentile(0.99) / 1000, pages);
  if (base != nullptr)
    std::printf("   %5.2fx  %5.2fx", base->PerSecond() / s.PerSecond(), s.Percentile(0.50) / base->Percentile(0.50));
  std::printf("\n");
}

int Main(int argc, char** argv) {
  int sales = 2000, rounds = 200, hub_sales = 500, profile = 0;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_core: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--sales") sales = std::atoi(next().c_str());
    else if (a == "--rounds") rounds = std::atoi(next().c_str());
    else if (a == "--hub-sales") hub_sales = std::atoi(next().c_str());
    else if (a == "--dir") dir = next();
    else if (a == "--profile") profile = std::atoi(next().c_str());
    else {
      std::fprintf(stderr, "usage: bench_core [--sales N] [--rounds R] [--hub-sales N] [--dir DIR] [--profile N]\n");
      return 2;
    }
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/bench_core.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = tmpl;
  }
  std::filesystem::create_directories(dir);

  if (profile > 0) {
    // Only the engine, synchronous=OFF: N sales of pure CPU and SQLite work, for `perf record`.
    SaleRun run = RunSales(dir, "OFF", profile, 1, false, 0, /*engine_only=*/true);
    std::printf("profile: %zu RecordSale at synchronous=OFF, p50 %.3f ms, %.0f/s\n", run.engine.us.size(),
                run.engine.Percentile(0.5) / 1000, run.engine.PerSecond());
    if (own_dir) std::filesystem::remove_all(dir);
    return 0;
  }
  std::printf("bench_core: tillsync core, native, SQLite %s, files in %s\n", sqlite3_libversion(), dir.c_str());
  Series floor = FsyncFloor(dir, 300);
  std::printf("disk floor: 4 KiB pwrite + fdatasync, p50 %.3f ms, p99 %.3f ms (%.0f/s)\n\n", floor.Percentile(0.5) / 1000,
              floor.Percentile(0.99) / 1000, floor.PerSecond());

  MicroCosts m = MeasureMicro(dir);
  std::printf("Sale commit = order + 3 lines + 1 payment + 3 stock movements, one transaction, WAL\n");
  std::printf("  %-8s %-36s %9s %9s %9s %6s   %6s  %6s\n", "sync", "how", "commits/s", "p50 ms", "p99 ms", "pages",
              "slower", "p50 x");
  SaleRun full = RunSales(dir, "FULL", sales, rounds, true, m.op_bytes);
  PrintRow("FULL", "plain INSERTs (8 rows)", full.plain, full.pages_plain, nullptr);
  PrintRow("FULL", "plain + engine's bookkeeping rows", full.bookkeeping, full.pages_bookkeeping, &full.plain);
  PrintRow("FULL", "Device::RecordSale (engine)", full.engine, full.pages_engine, &full.plain);
  SaleRun normal = RunSales(dir, "NORMAL", sales * 3, rounds, true, m.op_bytes);
  PrintRow("NORMAL", "plain INSERTs (8 rows)", normal.plain, normal.pages_plain, nullptr);
  PrintRow("NORMAL", "plain + engine's bookkeeping rows", normal.bookkeeping, normal.pages_bookkeeping, &normal.plain);
  PrintRow("NORMAL", "Device::RecordSale (engine)", normal.engine, normal.pages_engine, &normal.plain);
  std::printf("  pages = database pages written to the WAL per commit; slower = plain commits/s over this\n"
              "  commits/s; p50 x = this p50 over plain p50. NORMAL skips the fsync per commit: the CPU cost.\n\n");

  std::printf("CPU of a sale's pieces (measured apart), as JSON changes (a generic write): encode the outbox operation %.1f us\n"
              "  (%zu bytes of JSON stored, %zu in full), hash the 8 rows %.1f us, validate values + operation %.1f us\n"
              "  as typed rows (RecordSale): encode %.1f us (the same bytes), hash %.1f us, validate %.1f us\n\n",
              m.encode_op_us, m.op_bytes, m.op_full_bytes, m.row_hashes_us, m.validate_us, m.typed_encode_op_us,
              m.typed_row_hashes_us, m.typed_validate_us);

  std::printf("Hub apply of pushed sales (each op = one sale of 8 rows), hub on WAL + synchronous=FULL\n");
  std::printf("  %-44s %9s %9s %9s %9s\n", "how", "ops/s", "commits/s", "p50 ms", "p99 ms");
  HubRun single = RunHub(dir, "hub-push", 4, hub_sales, 50, false);
  std::printf("  %-44s %9.0f %9.0f %9.3f %9.3f\n", "Hub::Push, 50 ops per push, 4 devices", double(single.ops) / single.seconds,
              single.per_push.PerSecond(), single.per_push.Percentile(0.5) / 1000, single.per_push.Percentile(0.99) / 1000);
  HubRun grouped = RunHub(dir, "hub-group", 4, hub_sales, 50, true);
  std::printf("  %-44s %9.0f %9.0f %9.3f %9.3f\n", "Hub::PushGroup, 4 pushes x 50 ops per commit", double(grouped.ops) / grouped.seconds,
              grouped.per_push.PerSecond(), grouped.per_push.Percentile(0.5) / 1000, grouped.per_push.Percentile(0.99) / 1000);

  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace tillsync

int main(int argc, char** argv) { return tillsync::Main(argc, argv); }
