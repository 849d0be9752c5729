// hub_writer: the hub's push writer alone, in process, without HTTP or a load generator on the
// same cores. A program that prints figures, not a test.
//
// bench_hub measures the hub as devices meet it, but on a shared 2-core machine its sales/s
// follows the other processes' load more than the hub's own cost. This program measures the two
// CPU costs that bound the hub, each on its own thread clock (CLOCK_THREAD_CPUTIME_ID: time the
// thread ran, not time it waited for a core or for the disk):
//   prepare  Hub::PreparePush per sale: what each HTTP thread does with a push body (decode,
//            hash, validate), in parallel across them;
//   writer   Hub::PushGroup per sale: the one writer thread's SQL work and commit, which is
//            serial and bounds the hub at 1e6 / writer sales/s with a core to itself.
// The database is set up as `tillsync-server serve` sets it up (WAL, synchronous=FULL, 64 MiB
// page cache, WAL maintenance after each group: server/wal_maintenance.h); the fsync of every
// commit is real but, being a wait, is not in the CPU figures (its wall time is printed apart).
// Sales are those of bench_hub (order + 3 lines + payment + 3 stock movements, one operation),
// from devices spread over shops, grouped as the committer groups them: each group holds
// `--group` pushes from distinct devices, the devices taken round-robin.
//
//   ./build/bench_hub_writer                       # 100 devices, 4 per shop, groups of 50, 20,000 sales
//   ./build/bench_hub_writer --sales 40000 --group 50 --devices 100 --rounds 3
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/hub.h"
#include "core/migrations.h"
#include "core/sqlite_hub_store.h"
#include "server/wal_coalescing_vfs.h"
#include "server/wal_maintenance.h"

namespace {

using tillsync::Change;
using tillsync::Json;

struct Options {
  int devices = 100;
  int devices_per_shop = 4;
  int group = 50;
  int sales = 20000;
  int rounds = 3;
  bool coalesce = true;  // the writer's WAL writes gathered per commit, as the server does  // measured rounds, each on a fresh database (the figures of each are printed)
  std::string dir;
};

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Device {
  tillsync::DeviceRecord record;
  int64_t seq = 0, rows = 0, receipts = 0;
  std::string RowId() { return record.id + "." + std::to_string(++rows); }

  // The same sale as bench/hub_load.cc builds.
  std::string SalePush(int64_t now) {
    const struct {
      const char* id;
      const char* name;
      int64_t price, tax_bp;
    } products[] = {{"bench-coffee", "Coffee", 250, 1900}, {"bench-bagel", "Bagel", 320, 700},
                    {"bench-juice", "Juice", 399, 1900}};
    tillsync::Operation op;
    op.seq = ++seq;
    op.wall_ms = now;
    op.hlc = tillsync::HlcTimestamp{now, uint32_t(seq), record.id}.ToString();
    std::string order_id = RowId();
    int64_t subtotal = 0, tax = 0, qty = 1;
    std::vector<Change> lines, moves;
    for (const auto& p : products) {
      int64_t total = qty * p.price, line_tax = (total * p.tax_bp + 5000) / 10000;
      subtotal += total;
      tax += line_tax;
      lines.push_back(Change{"order_lines", RowId(),
                             Json{{"order_id", order_id}, {"shop_id", record.shop_id}, {"product_id", p.id},
                                  {"name", p.name}, {"qty", qty}, {"unit_price_minor", p.price},
                                  {"tax_minor", line_tax}, {"line_total_minor", total}}});
      moves.push_back(Change{"stock_movements", RowId(),
                             Json{{"shop_id", record.shop_id}, {"product_id", p.id}, {"qty_delta", -qty},
                                  {"kind", "sale"}, {"ref_id", order_id}, {"created_at", now}}});
      qty = qty == 1 ? 2 : 1;
    }
    char receipt[64];
    std::snprintf(receipt, sizeof receipt, "%s-%06lld", record.receipt_prefix.c_str(),
                  static_cast<long long>(++receipts));
    op.changes.push_back(Change{"sales_orders", order_id,
                                Json{{"shop_id", record.shop_id}, {"device_id", record.id}, {"receipt_no", receipt},
                                     {"status", "completed"}, {"subtotal_minor", subtotal}, {"tax_minor", tax},
                                     {"total_minor", subtotal + tax}, {"currency", "EUR"}, {"created_at", now}}});
    for (Change& c : lines) op.changes.push_back(std::move(c));
    op.changes.push_back(Change{"payments", RowId(),
                                Json{{"order_id", order_id}, {"shop_id", record.shop_id}, {"method", "card"},
                                     {"amount_minor", subtotal + tax}, {"tendered_minor", subtotal + tax},
                                     {"change_minor", 0}}});
    for (Change& c : moves) op.changes.push_back(std::move(c));
    return tillsync::EncodePushRequest(tillsync::PushRequest{record.id, tillsync::LatestSchemaVersion(), {op}});
  }
};

bool Check(const tillsync::Status& s, const char* what) {
  if (s.ok()) return true;
  std::fprintf(stderr, "bench_hub_writer: %s: %s\n", what, s.ToString().c_str());
  return false;
}

int RunRound(const Options& o, int round) {
  std::string path = o.dir + "/hub" + std::to_string(round) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((path + suffix).c_str());
  tillsync::HubOptions ho;  // WAL, synchronous=FULL
  std::unique_ptr<tillsync::SqliteHubStore> store;
  tillsync::OpenOptions open = ho.open;
  if (o.coalesce) {  // as serve.cc opens the writer (server/wal_coalescing_vfs.h)
    const char* vfs = nullptr;
    if (!Check(tillsync::server::WalCoalescingVfs::Register(&vfs), "vfs")) return 1;
    open.vfs = vfs;
  }
  if (!Check(tillsync::SqliteHubStore::Open(path, open, &store), "open")) return 1;
  // As server/serve.cc tunes the writer's connection.
  if (!Check(store->db()->Exec("PRAGMA cache_size=-65536"), "cache_size")) return 1;
  auto wal = std::make_unique<tillsync::server::WalMaintenance>();
  if (!Check(wal->Attach(store->db(), path), "wal maintenance")) return 1;
  std::unique_ptr<tillsync::Hub> hub;
  if (!Check(tillsync::Hub::Open(std::move(store), ho, &hub), "hub")) return 1;

  // Catalog, shops, devices (as bench_hub provisions them).
  std::vector<Change> catalog = {
      {"products", "bench-coffee", Json{{"name", "Coffee"}, {"price_minor", 250}, {"tax_rate_bp", 1900}, {"active", 1}}},
      {"products", "bench-bagel", Json{{"name", "Bagel"}, {"price_minor", 320}, {"tax_rate_bp", 700}, {"active", 1}}},
      {"products", "bench-juice", Json{{"name", "Juice"}, {"price_minor", 399}, {"tax_rate_bp", 1900}, {"active", 1}}}};
  if (!Check(hub->AdminWrite(catalog), "catalog")) return 1;
  int shops = std::max(1, (o.devices + o.devices_per_shop - 1) / o.devices_per_shop);
  std::vector<tillsync::ShopRecord> shop_records(static_cast<size_t>(shops));
  for (int s = 0; s < shops; ++s)
    if (!Check(hub->CreateShop("Bench shop " + std::to_string(s), "EUR", &shop_records[size_t(s)]), "shop")) return 1;
  std::vector<Device> devices(size_t(o.devices));
  for (int d = 0; d < o.devices; ++d)
    if (!Check(hub->RegisterDevice(shop_records[size_t(d % shops)].id, "Till " + std::to_string(d),
                                   &devices[size_t(d)].record),
               "device"))
      return 1;

  // Bodies first (not measured), then prepare them (measured: the HTTP threads' share).
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::vector<tillsync::PushCall> calls(size_t(o.sales));
  size_t body_bytes = 0;
  for (int i = 0; i < o.sales; ++i) {
    Device& d = devices[size_t(i % o.devices)];
    calls[size_t(i)].caller = tillsync::Caller{d.record.shop_id, d.record.id, false};
    calls[size_t(i)].body = d.SalePush(now);
    body_bytes += calls[size_t(i)].body.size();
  }
  double t0 = ThreadCpuSeconds();
  for (tillsync::PushCall& c : calls) {
    if (!Check(tillsync::Hub::PreparePush(c.caller, c.body, &c.request), "prepare")) return 1;
    c.prepared = true;
  }
  double prepare_cpu = ThreadCpuSeconds() - t0;

  // Groups of distinct devices, in the order the committer would see them.
  double writer_cpu = 0, commit_wall = 0, maintenance_cpu = 0;
  double wall0 = WallSeconds();
  std::vector<tillsync::PushCall> group;
  for (size_t start = 0; start < calls.size(); start += size_t(o.group)) {
    size_t end = std::min(calls.size(), start + size_t(o.group));
    group.clear();
    for (size_t i = start; i < end; ++i) group.push_back(std::move(calls[i]));
    double c0 = ThreadCpuSeconds(), w0 = WallSeconds();
    tillsync::Status s = hub->PushGroup(&group);
    double c1 = ThreadCpuSeconds(), w1 = WallSeconds();
    writer_cpu += c1 - c0;
    commit_wall += w1 - w0;
    if (!Check(s, "push group")) return 1;
    for (const tillsync::PushCall& c : group)
      if (!Check(c.status, "push")) return 1;
    wal->AfterGroup();  // on the writer thread, after the answers, as the server does
    maintenance_cpu += ThreadCpuSeconds() - c1;
  }
  double wall = WallSeconds() - wall0;
  wal->Stop();
  double n = double(o.sales);
  std::printf("%5d  %7d  %6d  %10.1f  %10.1f  %12.1f  %10.1f  %10.0f  %8.0f\n", round, o.sales, o.group,
              prepare_cpu / n * 1e6, writer_cpu / n * 1e6, maintenance_cpu / n * 1e6,
              (commit_wall - writer_cpu) / n * 1e6, n / wall, double(body_bytes) / n);
  std::fflush(stdout);
  hub.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((path + suffix).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
    if (a == "--devices") o.devices = std::max(1, std::atoi(next()));
    else if (a == "--devices-per-shop") o.devices_per_shop = std::max(1, std::atoi(next()));
    else if (a == "--group") o.group = std::max(1, std::atoi(next()));
    else if (a == "--sales") o.sales = std::max(1, std::atoi(next()));
    else if (a == "--rounds") o.rounds = std::max(1, std::atoi(next()));
    else if (a == "--dir") o.dir = next();
    else if (a == "--no-coalesce") o.coalesce = false;
    else {
      std::fprintf(stderr,
                   "usage: bench_hub_writer [--devices 100] [--devices-per-shop 4] [--group 50] [--sales 20000]\n"
                   "                        [--rounds 3] [--dir DIR] [--no-coalesce]\n");
      return 2;
    }
  }
  if (o.group > o.devices) o.group = o.devices;  // a group never holds two pushes of one device
  if (o.dir.empty()) {
    char tmpl[] = "/tmp/bench_hub_writer.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 1;
    o.dir = tmpl;
  }
  std::printf("bench_hub_writer: the push writer in process (WAL, synchronous=FULL, as tillsync-server serve)%s\n",
              o.coalesce ? "" : "; WAL writes NOT gathered (--no-coalesce)");
  std::printf("%d devices, %d per shop; groups of %d pushes from distinct devices; 1 sale per push\n", o.devices,
              o.devices_per_shop, o.group);
  std::printf("CPU per sale on the thread's own clock; wait = the group's wall time minus its CPU (fsync, I/O)\n\n");
  std::printf("round    sales   group     prepare      writer  wal maint.        wait     sales/s   body\n");
  std::printf("                         (us/sale)   (us/sale)    (us/sale)   (us/sale)  (1 thread)  (bytes)\n");
  for (int r = 1; r <= o.rounds; ++r)
    if (RunRound(o, r) != 0) return 1;
  rmdir(o.dir.c_str());
  return 0;
}
