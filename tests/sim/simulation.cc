#include "tests/sim/simulation.h"

#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include "core/device.h"
#include "core/hub.h"
#include "core/sqlite_hub_store.h"
#include "tests/support/fault_vfs.h"

namespace tillsync {

std::string SimReport::Summary() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "writes=%lld sales=%lld voids=%lld catalog_edits=%lld crashes=%lld syncs=%lld lost=%lld dup=%lld "
                "delayed=%lld reached_hub_during_faults=%lld quarantined=%lld conflicts=%lld heal_rounds=%lld "
                "snapshot_pages=%lld trace=%016llx",
                (long long)writes, (long long)sales, (long long)voids, (long long)catalog_edits, (long long)crashes,
                (long long)sync_cycles, (long long)lost_messages, (long long)duplicated_messages,
                (long long)delayed_requests, (long long)reached_hub_in_fault_phase, (long long)quarantined,
                (long long)conflicts, (long long)heal_rounds, (long long)snapshot_pages,
                (unsigned long long)trace_hash);
  return buf;
}

namespace {

constexpr int64_t kMinute = 60 * 1000;

// A device's clock: the world's time plus this device's skew (which may jump).
class SkewedEnv : public Env {
 public:
  SkewedEnv(ManualEnv* world, int64_t offset, uint64_t seed) : world_(world), offset_(offset), rng_(0, seed) {}
  int64_t NowMillis() override { return world_->NowMillis() + offset_; }
  uint64_t Random64() override { return rng_.Random64(); }

 private:
  ManualEnv* world_;

 public:
  int64_t offset_;  // the simulation jumps it

 private:
  ManualEnv rng_;  // only its seeded generator is used
};

struct Movement {
  std::string shop, product;
  int64_t delta;
};

struct SaleRecord {
  std::string shop;
  std::string receipt_no;
  int64_t total = 0;
  std::vector<std::pair<std::string, int64_t>> lines;  // product, qty
};

struct SimDevice {
  std::string file;
  DeviceIdentity identity;
  int shop = 0;
  std::unique_ptr<SkewedEnv> env;
  std::unique_ptr<Device> device;
  bool online = true;
  std::vector<std::string> sales;  // order ids this device recorded (void/refund candidates)
};

struct DelayedRequest {
  Caller caller;
  std::string body;
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& o)
      : opt_(o), world_(1'700'000'000'000LL, o.seed), vfs_("sim-vfs-" + std::to_string(o.seed), o.seed) {}

  SimReport Run();

 private:
  // Deterministic randomness for the schedule, separate from the engines' own sources.
  uint64_t Rand() { return world_.Random64(); }
  int64_t Uniform(int64_t lo, int64_t hi) { return lo + int64_t(Rand() % uint64_t(hi - lo + 1)); }
  bool Chance(int percent) { return int(Rand() % 100) < percent; }

  void Trace(const std::string& event) {
    for (unsigned char c : event) {
      trace_ ^= c;
      trace_ *= 0x100000001b3ULL;
    }
    trace_ ^= '\n';
    trace_ *= 0x100000001b3ULL;
    if (opt_.verbose) std::printf("  %s\n", event.c_str());
  }
  void Fail(const std::string& why) {
    report_.ok = false;
    if (report_.failures.size() < 20) report_.failures.push_back(why);
  }
  bool Check(const Status& s, const std::string& what) {
    if (!s.ok()) Fail(what + ": " + s.ToString());
    return s.ok();
  }

  Status Setup();
  Status OpenDevice(SimDevice* d);
  void CrashDevice(SimDevice* d, const char* point);
  Caller CallerOf(const SimDevice& d) const { return Caller{d.identity.shop_id, d.identity.device_id, false}; }

  void RecordWrite(SimDevice* d, int64_t seq, std::vector<Movement> movements);
  void DoSale(SimDevice* d, bool crash_before_commit);
  void DoVoidOrRefund(SimDevice* d);
  void DoCatalogEdit(SimDevice* d);
  void DoHubCatalogEdit();
  void DoStock(SimDevice* d);
  void DoCustomer(SimDevice* d);
  void DoExpense(SimDevice* d);
  // One sync cycle; with faults on, messages may be lost, duplicated or delayed, and the device
  // may crash at a chosen point.
  void DoSync(SimDevice* d, bool faults, int crash_point);
  void DeliverDelayed(size_t index);
  void Heal();
  void Verify();
  void Sabotage();

  SimOptions opt_;
  ManualEnv world_;
  FaultVfs vfs_;
  std::unique_ptr<Hub> hub_;
  Database* hub_db_ = nullptr;  // hub_'s SQLite connection, for inspecting and damaging tables
  std::vector<ShopRecord> shops_;
  std::vector<SimDevice> devices_;
  std::vector<std::string> products_;
  std::vector<DelayedRequest> delayed_;
  // Ledger: what the devices were told succeeded.
  std::map<std::string, SaleRecord> sales_;                                // order id -> sale
  std::map<std::pair<std::string, int64_t>, std::vector<Movement>> ops_;   // (device, seq) -> movements
  std::set<std::string> created_ids_;                                      // every row id written
  std::set<std::pair<std::string, int64_t>> discarded_;                    // quarantined, then discarded
  SimReport report_;
  uint64_t trace_ = 0xcbf29ce484222325ULL;
  int64_t customer_counter_ = 0;
};

Status Simulation::Setup() {
  HubOptions ho;
  ho.env = &world_;
  ho.open.vfs = vfs_.name();
  ho.open.exclusive_locking = true;
  // Through the SQLite store, whose connection the checks keep to inspect and damage tables.
  std::unique_ptr<SqliteHubStore> store;
  TS_RETURN_IF_ERROR(SqliteHubStore::Open("hub.db", ho.open, &store));
  hub_db_ = store->db();
  TS_RETURN_IF_ERROR(Hub::Open(std::move(store), ho, &hub_));
  std::vector<Change> catalog;
  catalog.push_back(Change{"categories", "cat-1", Json{{"name", "Drinks"}, {"sort_order", 1}, {"active", 1}}});
  for (int p = 0; p < opt_.products; ++p) {
    std::string id = "prod-" + std::to_string(p);
    products_.push_back(id);
    created_ids_.insert(id);
    catalog.push_back(Change{"products", id,
                             Json{{"category_id", "cat-1"}, {"name", "Product " + std::to_string(p)},
                                  {"price_minor", 100 + 37 * p}, {"tax_rate_bp", (p % 3) * 1000}, {"active", 1}}});
  }
  created_ids_.insert("cat-1");
  TS_RETURN_IF_ERROR(hub_->AdminWrite(catalog));
  for (int s = 0; s < opt_.shops; ++s) {
    ShopRecord shop;
    TS_RETURN_IF_ERROR(hub_->CreateShop("Shop " + std::to_string(s), "EUR", &shop));
    shops_.push_back(shop);
    created_ids_.insert(shop.id);
    for (int k = 0; k < opt_.devices_per_shop; ++k) {
      DeviceRecord rec;
      TS_RETURN_IF_ERROR(hub_->RegisterDevice(shop.id, "till " + std::to_string(k), &rec));
      created_ids_.insert(rec.id);
      SimDevice d;
      d.file = "device-" + std::to_string(s) + "-" + std::to_string(k) + ".db";
      d.identity = DeviceIdentity{rec.id, shop.id, rec.receipt_prefix, "EUR"};
      d.shop = s;
      int64_t skew = Uniform(-10 * kMinute, 10 * kMinute);
      d.env = std::make_unique<SkewedEnv>(&world_, skew, opt_.seed * 1000 + devices_.size());
      devices_.push_back(std::move(d));
    }
  }
  for (SimDevice& d : devices_) TS_RETURN_IF_ERROR(OpenDevice(&d));
  // A till's first run downloads the catalog before it sells.
  for (SimDevice& d : devices_) DoSync(&d, false, 0);
  return Status::Ok();
}

Status Simulation::OpenDevice(SimDevice* d) {
  DeviceOptions o;
  o.env = d->env.get();
  o.open.vfs = vfs_.name();
  o.open.exclusive_locking = true;
  o.push_batch = 25;  // small batches: more request boundaries for the faults to hit
  o.pull_limit = 200;
  d->device.reset();
  return Device::Open(d->file, d->identity, o, &d->device);
}

void Simulation::CrashDevice(SimDevice* d, const char* point) {
  // The process dies: the connection goes without a clean shutdown, unsynced bytes are lost.
  d->device.reset();
  vfs_.CrashFiles(d->file, CrashMode::kDropUnsynced);
  ++report_.crashes;
  Trace(std::string("crash ") + point + " " + d->identity.device_id);
  Check(OpenDevice(d), "reopen after crash");
  if (opt_.verbose && d->device) {
    Json kv;
    (void)d->device->Query("SELECT value FROM _ts_kv WHERE key='row_counter'", Json::array(), &kv);
    Trace("reopened row_counter=" + DumpJson(kv));
  }
}

void Simulation::RecordWrite(SimDevice* d, int64_t seq, std::vector<Movement> movements) {
  ops_[{d->identity.device_id, seq}] = std::move(movements);
  ++report_.writes;
}

void Simulation::DoSale(SimDevice* d, bool crash_before_commit) {
  SaleInput in;
  int lines = int(Uniform(1, 5));
  for (int i = 0; i < lines; ++i) in.lines.push_back({products_[size_t(Uniform(0, int64_t(products_.size()) - 1))], Uniform(1, 4)});
  if (Chance(30)) in.payments.push_back(PaymentInput{"card", -1, -1});
  else if (Chance(50)) in.payments.push_back(PaymentInput{"cash", -1, 100000});
  if (crash_before_commit) vfs_.FreezeAtNthSync(1);
  SaleResult r;
  Status s = d->device->RecordSale(in, &r);
  if (crash_before_commit) {
    if (s.ok()) Fail("a sale committed although its commit sync failed");
    Trace("sale-crash " + d->identity.device_id + " " + s.code_name());
    CrashDevice(d, "before-local-commit");
    return;
  }
  if (!s.ok()) {
    // Only an inactive product may refuse a sale here; nothing was recorded.
    if (s.code() != ErrorCode::kBadValue && s.code() != ErrorCode::kNotFound) Fail("sale failed: " + s.ToString());
    Trace("sale-refused " + std::string(s.code_name()));
    return;
  }
  SaleRecord rec{d->identity.shop_id, r.receipt_no, r.total_minor, {}};
  std::vector<Movement> moves;
  for (const SaleLineInput& l : in.lines) {
    rec.lines.push_back({l.product_id, l.qty});
    moves.push_back({d->identity.shop_id, l.product_id, -l.qty});
  }
  sales_[r.order_id] = rec;
  created_ids_.insert(r.order_id);
  d->sales.push_back(r.order_id);
  RecordWrite(d, r.seq, std::move(moves));
  ++report_.sales;
  Trace("sale " + r.order_id + " " + r.receipt_no + " " + std::to_string(r.total_minor));
}

void Simulation::DoVoidOrRefund(SimDevice* d) {
  // Any sale of the shop this device can see, including other devices' sales it pulled.
  Json rows;
  if (!Check(d->device->Query("SELECT id FROM sales_orders WHERE status='completed' ORDER BY id", Json::array(), &rows),
             "list sales"))
    return;
  if (rows.empty()) return;
  std::string order = rows[size_t(Uniform(0, int64_t(rows.size()) - 1))]["id"].get<std::string>();
  bool is_void = Chance(50);
  WriteResult w;
  Status s = is_void ? d->device->VoidSale(order, &w) : d->device->RefundSale(order, &w);
  if (!Check(s, "void/refund")) return;
  auto it = sales_.find(order);
  std::vector<Movement> moves;
  if (it != sales_.end())
    for (const auto& [product, qty] : it->second.lines) moves.push_back({d->identity.shop_id, product, qty});
  else
    Fail("a device sees sale " + order + " that no device recorded");
  RecordWrite(d, w.seq, std::move(moves));
  ++report_.voids;
  Trace(std::string(is_void ? "void " : "refund ") + order + " by " + d->identity.device_id + " seq " + std::to_string(w.seq));
}

void Simulation::DoCatalogEdit(SimDevice* d) {
  std::string product = products_[size_t(Uniform(0, int64_t(products_.size()) - 1))];
  Json values;
  if (Chance(70)) values["price_minor"] = Uniform(50, 5000);
  else values["name"] = "Renamed " + std::to_string(Uniform(0, 999));
  WriteResult w;
  if (!Check(d->device->Write({Change{"products", product, values}}, &w), "catalog edit")) return;
  RecordWrite(d, w.seq, {});
  ++report_.catalog_edits;
  Trace("edit " + product + " " + DumpJson(values));
}

void Simulation::DoHubCatalogEdit() {
  Json values = Chance(50) ? Json{{"name", "Category " + std::to_string(Uniform(0, 99))}}
                           : Json{{"sort_order", Uniform(0, 10)}};
  Check(hub_->AdminWrite({Change{"categories", "cat-1", values}}), "hub admin edit");
  Trace("hub-edit " + DumpJson(values));
}

void Simulation::DoStock(SimDevice* d) {
  std::string product = products_[size_t(Uniform(0, int64_t(products_.size()) - 1))];
  WriteResult w;
  int64_t qty = Chance(70) ? Uniform(1, 20) : Uniform(-5, 5);
  if (qty == 0) qty = 1;
  Status s = qty > 0 && Chance(70) ? d->device->ReceiveStock(product, qty, &w) : d->device->AdjustStock(product, qty, &w);
  if (!Check(s, "stock")) return;
  RecordWrite(d, w.seq, {{d->identity.shop_id, product, qty}});
  Trace("stock " + product + " " + std::to_string(qty));
}

void Simulation::DoCustomer(SimDevice* d) {
  // A few customers per shop, edited by several devices: the manual rule makes conflicts.
  std::string id = "cust-" + std::to_string(d->shop) + "-" + std::to_string(Uniform(0, 2));
  Json values{{"name", "Customer " + id}, {"phone", std::to_string(Uniform(1000, 9999))}};
  WriteResult w;
  if (!Check(d->device->Write({Change{"customers", id, values}}, &w), "customer edit")) return;
  created_ids_.insert(id);
  RecordWrite(d, w.seq, {});
  Trace("customer " + id);
}

void Simulation::DoExpense(SimDevice* d) {
  WriteResult w;
  if (!Check(d->device->RecordExpense("supplies", Uniform(1, 5000), &w), "expense")) return;
  Json rows;
  Check(d->device->Query("SELECT id FROM expenses ORDER BY rowid DESC LIMIT 1", Json::array(), &rows), "expense id");
  if (!rows.empty()) created_ids_.insert(rows[0]["id"].get<std::string>());
  RecordWrite(d, w.seq, {});
  Trace("expense");
}

void Simulation::DoSync(SimDevice* d, bool faults, int crash_point) {
  Device* dev = d->device.get();
  ++report_.sync_cycles;
  dev->SyncStarted();
  auto network_down = [&](const char* what) {
    ++report_.lost_messages;
    Trace(std::string("lost ") + what + " " + d->identity.device_id);
    Check(dev->SyncFailed(Status(ErrorCode::kIoError, what), true), "record failure");
  };
  for (int round = 0; round < 4 && dev->HasPending(); ++round) {
    std::string body, answer;
    int64_t count = 0;
    if (!Check(dev->BuildPush(&body, &count), "build push")) return;
    if (crash_point == 1) return CrashDevice(d, "after-commit-before-send");
    if (faults && Chance(8)) return network_down("push-request");
    if (faults && Chance(4)) {
      // The request crawls through the network and reaches the hub after the device gave up.
      delayed_.push_back({CallerOf(*d), body});
      ++report_.delayed_requests;
      Trace("delayed " + d->identity.device_id);
      Check(dev->SyncFailed(Status(ErrorCode::kIoError, "timeout"), true), "record failure");
      return;
    }
    Status s = hub_->Push(CallerOf(*d), body, &answer);
    if (!Check(s, "hub push")) return;
    if (faults && Chance(5)) {
      // The same request arrives twice: the second gets the first's results.
      std::string again;
      ++report_.duplicated_messages;
      if (Check(hub_->Push(CallerOf(*d), body, &again), "duplicate push")) {
        PushResponse a, b;
        if (DecodePushResponse(answer, &a).ok() && DecodePushResponse(again, &b).ok()) {
          bool same = a.results.size() == b.results.size();
          for (size_t i = 0; same && i < a.results.size(); ++i)
            same = a.results[i].seq == b.results[i].seq && a.results[i].status == b.results[i].status &&
                   a.results[i].code == b.results[i].code;
          if (!same) Fail("a replayed push got a different answer");
        }
      }
    }
    if (crash_point == 2) return CrashDevice(d, "after-hub-commit-before-answer");
    if (faults && Chance(8)) return network_down("push-answer");
    if (crash_point == 3) {
      vfs_.FreezeAtNthSync(1);
      Status h = dev->HandlePushResponse(answer);
      if (h.ok()) Fail("push bookkeeping committed although its sync failed");
      return CrashDevice(d, "after-answer-before-bookkeeping");
    }
    if (!Check(dev->HandlePushResponse(answer), "handle push answer")) return;
    if (faults && Chance(3)) {
      ++report_.duplicated_messages;
      Check(dev->HandlePushResponse(answer), "duplicated push answer");
    }
    Trace("pushed " + d->identity.device_id + " " + std::to_string(count) + " " + answer.substr(answer.find("\"results\"")));
  }
  for (int page = 0; page < 100; ++page) {
    std::string body, answer;
    if (!Check(dev->BuildPull(&body), "build pull")) return;
    if (faults && Chance(5)) return network_down("pull-request");
    if (!Check(hub_->Pull(CallerOf(*d), body, &answer), "hub pull")) return;
    // A snapshot position can only appear as the answer's own field: inside a text value its quotes are escaped.
    if (answer.find(",\"snapshot\":\"") != std::string::npos) ++report_.snapshot_pages;
    if (faults && Chance(5)) return network_down("pull-answer");
    if (crash_point == 4 && page == 0) {
      vfs_.FreezeAtNthSync(1);
      PullOutcome ignored;
      if (dev->HandlePullResponse(answer, &ignored).ok() && vfs_.frozen()) Fail("pull page committed although its sync failed");
      return CrashDevice(d, "during-pull-apply");
    }
    PullOutcome out;
    if (!Check(dev->HandlePullResponse(answer, &out), "handle pull answer")) return;
    if (out.repair_started) Trace("repair " + d->identity.device_id);
    if (!out.more) {
      Check(dev->SyncSucceeded(), "record success");
      Trace("synced " + d->identity.device_id);
      return;
    }
  }
}

void Simulation::DeliverDelayed(size_t index) {
  DelayedRequest r = delayed_[index];
  delayed_.erase(delayed_.begin() + long(index));
  std::string answer;
  Status s = hub_->Push(r.caller, r.body, &answer);  // nobody is waiting for this answer
  Trace("late-request " + std::string(s.code_name()));
  if (!s.ok()) Fail("a late duplicate request was refused: " + s.ToString());
}

void Simulation::Heal() {
  vfs_.ClearFaults();
  while (!delayed_.empty()) DeliverDelayed(0);
  for (SimDevice& d : devices_) d.online = true;
  HubStats before, after;
  for (int round = 0; round < 30; ++round) {
    ++report_.heal_rounds;
    Check(hub_->Stats(&before), "stats");
    bool pending = false;
    for (SimDevice& d : devices_) {
      // A person clears the quarantine: discarded operations leave the ledger.
      Json q;
      Check(d.device->ListQuarantine(&q), "list quarantine");
      for (const Json& row : q) {
        int64_t seq = row["seq"].get<int64_t>();
        discarded_.insert({d.identity.device_id, seq});
        ++report_.quarantined;
        Check(d.device->DiscardQuarantined(seq), "discard");
      }
      DoSync(&d, false, 0);
      pending = pending || d.device->HasPending();
    }
    Check(hub_->Stats(&after), "stats");
    if (!pending && after.last_seq == before.last_seq) return;
  }
  Fail("the fleet did not become quiet after healing");
}

void Simulation::Sabotage() {
  if (opt_.sabotage == "lose_hub_sale" && !sales_.empty()) {
    Check(hub_db_->Exec("DELETE FROM sales_orders WHERE id = (SELECT id FROM sales_orders ORDER BY id LIMIT 1)"),
          "sabotage");
  } else if (opt_.sabotage == "leak_row" && devices_.size() > 1) {
    std::string other_shop = shops_.back().id;
    Check(devices_.front().device->db()->Exec(
              "INSERT INTO expenses (id, shop_id, device_id, description, amount_minor, created_at) VALUES "
              "('leaked', '" + other_shop + "', 'x', 'leak', 1, 0)"),
          "sabotage");
  }
}

void Simulation::Verify() {
  // Sales: every recorded sale exactly once on the hub, complete, and nothing nobody recorded.
  Json rows;
  Device* any = devices_.front().device.get();
  (void)any;
  std::map<std::string, int64_t> hub_lines;
  Statement st;
  if (!Check(hub_db_->Prepare("SELECT o.id, o.shop_id, o.receipt_no, o.total_minor, "
                                 "(SELECT COUNT(*) FROM order_lines l WHERE l.order_id = o.id) FROM sales_orders o",
                                 &st), "query hub sales"))
    return;
  std::set<std::string> on_hub;
  std::set<std::pair<std::string, std::string>> receipts;
  bool row = false;
  while (st.Step(&row).ok() && row) {
    std::string id = st.Text(0);
    on_hub.insert(id);
    if (!receipts.insert({st.Text(1), st.Text(2)}).second) Fail("duplicated receipt number " + st.Text(2));
    auto it = sales_.find(id);
    if (it == sales_.end()) {
      Fail("hub has sale " + id + " that no device recorded");
      continue;
    }
    if (it->second.shop != st.Text(1) || it->second.total != st.Int(3) ||
        int64_t(it->second.lines.size()) != st.Int(4))
      Fail("hub's copy of sale " + id + " differs from what the device recorded");
  }
  for (const auto& [id, sale] : sales_)
    if (!on_hub.count(id)) Fail("sale " + id + " (" + sale.receipt_no + ") was lost");

  // Rows nobody created: every id on the hub is in the ledger (movement, line and payment ids
  // belong to their sale's or stock operation's device; checked through their parents).
  for (const char* table : {"products", "categories", "customers", "expenses", "shops", "devices"}) {
    Statement ids;
    if (!Check(hub_db_->Prepare(std::string("SELECT id FROM ") + table, &ids), "ids")) return;
    while (ids.Step(&row).ok() && row)
      if (!created_ids_.count(ids.Text(0))) Fail(std::string(table) + " row " + ids.Text(0) + " was created by nobody");
  }

  // Stock: expected on-hand per shop and product from the surviving operations' movements.
  std::map<std::pair<std::string, std::string>, int64_t> expected;
  for (const auto& [key, moves] : ops_) {
    if (discarded_.count(key)) continue;
    for (const Movement& m : moves) expected[{m.shop, m.product}] += m.delta;
  }

  for (size_t s = 0; s < shops_.size(); ++s) {
    std::string hub_dump;
    Check(hub_->CanonicalDump(shops_[s].id, &hub_dump), "hub dump");
    for (SimDevice& d : devices_) {
      if (d.shop != int(s)) continue;
      std::string dump;
      Check(d.device->CanonicalDump(&dump), "device dump");
      if (dump != hub_dump) Fail("replica of " + d.identity.device_id + " differs from the hub's view of its shop");
      Json stock;
      Check(d.device->Query("SELECT product_id, on_hand FROM stock_on_hand", Json::array(), &stock), "stock");
      std::map<std::string, int64_t> seen;
      for (const Json& r : stock) seen[r["product_id"].get<std::string>()] = r["on_hand"].get<int64_t>();
      for (const std::string& p : products_) {
        int64_t want = expected[{shops_[s].id, p}];
        if (seen[p] != want)
          Fail("stock of " + p + " on " + d.identity.device_id + " is " + std::to_string(seen[p]) + ", movements say " +
               std::to_string(want));
      }
      // Isolation: nothing of another shop on this device.
      for (const TableSpec& t : AllTables()) {
        if (t.scope != Scope::kShop) continue;
        Json n;
        Check(d.device->Query(std::string("SELECT COUNT(*) AS n FROM ") + t.name + " WHERE shop_id <> ?1",
                              Json::array({d.identity.shop_id}), &n), "isolation");
        if (!n.empty() && n[0]["n"].get<int64_t>() != 0)
          Fail(std::string(t.name) + " rows of another shop on " + d.identity.device_id);
      }
      Json ic;
      Check(d.device->Query("PRAGMA integrity_check", Json::array(), &ic), "integrity");
      if (ic.empty() || ic[0].begin().value() != "ok") Fail("integrity_check failed on " + d.identity.device_id);
      SyncStatus status;
      Check(d.device->GetStatus(&status), "status");
      report_.conflicts += status.conflicts;
      if (status.pending != 0) Fail(d.identity.device_id + " still has pending operations");
      Trace("final " + d.identity.device_id + " " + dump);
    }
  }
  Statement ic;
  if (Check(hub_db_->Prepare("PRAGMA integrity_check", &ic), "hub integrity") && ic.Step(&row).ok() && row &&
      ic.Text(0) != "ok")
    Fail("integrity_check failed on the hub");
  if (report_.reached_hub_in_fault_phase * 2 < report_.writes)
    Fail("too little reached the hub during the fault phase (" + std::to_string(report_.reached_hub_in_fault_phase) +
         " of " + std::to_string(report_.writes) + "): the faults drowned the sync");
}

SimReport Simulation::Run() {
  if (!Check(Setup(), "setup")) return report_;
  while (report_.writes < opt_.ops && report_.ok) {
    world_.Advance(Uniform(0, 3000));
    SimDevice* d = &devices_[size_t(Uniform(0, int64_t(devices_.size()) - 1))];
    int roll = int(Uniform(0, 99));
    if (roll < 34) DoSale(d, false);
    else if (roll < 36) DoSale(d, true);
    else if (roll < 40) DoVoidOrRefund(d);
    else if (roll < 46) DoCatalogEdit(d);
    else if (roll < 47) DoHubCatalogEdit();
    else if (roll < 51) DoStock(d);
    else if (roll < 53) DoCustomer(d);
    else if (roll < 54) DoExpense(d);
    else if (roll < 80) {
      if (d->online) DoSync(d, true, 0);
    } else if (roll < 86) {
      if (d->online) DoSync(d, true, int(Uniform(1, 4)));  // a crash at one step of the cycle
    } else if (roll < 89) {
      d->online = !d->online;
      Trace(std::string(d->online ? "online " : "offline ") + d->identity.device_id);
    } else if (roll < 91) {
      // A whole shop goes apart (or comes back): its devices edit the catalog on their own.
      int shop = int(Uniform(0, opt_.shops - 1));
      bool online = Chance(50);
      for (SimDevice& x : devices_)
        if (x.shop == shop) x.online = online;
      Trace("shop " + std::to_string(shop) + (online ? " online" : " apart"));
    } else if (roll < 93) {
      d->env->offset_ += Chance(50) ? 3'600'000 : -3'600'000;  // an hour's jump either way
      Trace("clock-jump " + d->identity.device_id);
    } else if (roll < 95) {
      d->env->offset_ = Uniform(-10 * kMinute, 10 * kMinute);
    } else if (!delayed_.empty()) {
      DeliverDelayed(size_t(Uniform(0, int64_t(delayed_.size()) - 1)));
    }
  }
  HubStats stats;
  if (Check(hub_->Stats(&stats), "stats"))
    report_.reached_hub_in_fault_phase = stats.ops_applied + stats.ops_rejected + stats.ops_conflicted;
  Heal();
  Sabotage();
  Verify();
  report_.trace_hash = trace_;
  return report_;
}

}  // namespace

SimReport RunSimulation(const SimOptions& options) {
  Simulation sim(options);
  return sim.Run();
}

}  // namespace tillsync
