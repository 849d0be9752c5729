// tillsync_parity: runs a scenario (a JSON script of device calls and syncs) on the NATIVE build,
// with an in-process Hub, and prints a transcript: every step's result, every request the device
// built and every answer the hub gave, and the final canonical dumps and checksums.
// tests/wasm/parity.test.mjs runs the same script on the WASM build, feeding it the hub answers
// recorded here, and requires every request byte, every result and the final dump and checksum
// to be identical: the browser engine behaves exactly like the native one.
//
//   tillsync_parity SCENARIO.json > transcript.json
//
// Scenario: {"clock": {"now_ms", "seed"}, "steps": [ {"op": ...}, ... ]} with ops
//   clock {now_ms} | admin {changes} (a hub catalog edit) | write {changes} | sale {sale} |
//   void {order_id} | refund {order_id} | receive {product_id, qty} | adjust {product_id, qty} |
//   expense {description, amount_minor} | query {sql, params} | sync
// Deterministic: the device and the hub each run on a ManualEnv (fixed clock, seeded random).
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <unistd.h>

#include "core/device.h"
#include "core/hub.h"
#include "core/json_reader.h"

using namespace tillsync;

namespace {

Json ErrorJson(const Status& s) { return Json{{"code", s.code_name()}, {"message", s.message()}}; }

Json WriteJson(const Status& s, const WriteResult& w) {
  if (!s.ok()) return Json{{"error", ErrorJson(s)}};
  return Json{{"result", {{"seq", w.seq}, {"hlc", w.hlc}}}};
}

int Fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "tillsync_parity: %s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

std::vector<Change> ChangesOf(const Json& list) {
  std::vector<Change> out;
  for (const Json& c : list) {
    Change ch{c.value("table", ""), c.value("id", ""), c.contains("values") ? c["values"] : Json::object()};
    if (c.contains("base_version")) ch.base_version = c["base_version"].get<int64_t>();
    out.push_back(std::move(ch));
  }
  return out;
}

SaleInput SaleOf(const Json& j) {
  SaleInput s;
  for (const Json& l : j["lines"]) s.lines.push_back(SaleLineInput{l["product_id"].get<std::string>(), l["qty"].get<int64_t>()});
  if (j.contains("payments")) {
    for (const Json& p : j["payments"]) {
      PaymentInput pay;
      pay.method = p.value("method", std::string("cash"));
      pay.amount_minor = p.value("amount_minor", int64_t(-1));
      pay.tendered_minor = p.value("tendered_minor", int64_t(-1));
      s.payments.push_back(pay);
    }
  }
  s.customer_id = j.value("customer_id", std::string());
  s.order_id = j.value("order_id", std::string());
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tillsync_parity SCENARIO.json\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  Json scenario;
  Status s = ParseJson(text.str(), &scenario);
  if (!s.ok()) return Fail("scenario", s);
  int64_t now = scenario["clock"]["now_ms"].get<int64_t>();
  uint64_t seed = scenario["clock"].value("seed", uint64_t(1));

  char dir_template[] = "/tmp/tillsync-parity-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  ManualEnv hub_env(now, seed + 1000);
  ManualEnv device_env(now, seed);
  HubOptions hub_options;
  hub_options.env = &hub_env;
  std::unique_ptr<Hub> hub;
  s = Hub::Open(dir + "/hub.db", hub_options, &hub);
  if (!s.ok()) return Fail("hub open", s);
  ShopRecord shop;
  DeviceRecord reg;
  if (!(s = hub->CreateShop("Parity shop", "EUR", &shop)).ok()) return Fail("create shop", s);
  if (!(s = hub->RegisterDevice(shop.id, "Till 1", &reg)).ok()) return Fail("register device", s);

  DeviceIdentity identity{reg.id, shop.id, reg.receipt_prefix, "EUR"};
  DeviceOptions options;
  options.env = &device_env;
  std::unique_ptr<Device> device;
  if (!(s = Device::Open(dir + "/device.db", identity, options, &device)).ok()) return Fail("device open", s);
  Caller caller{shop.id, reg.id, false};

  Json steps = Json::array();
  for (const Json& step : scenario["steps"]) {
    std::string op = step["op"].get<std::string>();
    Json out = {{"op", op}};
    WriteResult w;
    if (op == "clock") {
      device_env.SetNow(step["now_ms"].get<int64_t>());
      hub_env.SetNow(step["now_ms"].get<int64_t>());
    } else if (op == "admin") {
      Status a = hub->AdminWrite(ChangesOf(step["changes"]));
      if (!a.ok()) return Fail("admin write", a);
    } else if (op == "write") {
      out.update(WriteJson(device->Write(ChangesOf(step["changes"]), &w), w));
    } else if (op == "sale") {
      SaleResult r;
      Status st = device->RecordSale(SaleOf(step["sale"]), &r);
      if (st.ok()) {
        out["result"] = Json{{"order_id", r.order_id}, {"receipt_no", r.receipt_no}, {"subtotal_minor", r.subtotal_minor},
                             {"tax_minor", r.tax_minor}, {"total_minor", r.total_minor}, {"change_minor", r.change_minor},
                             {"seq", r.seq}, {"created_at", r.created_at}};
      } else {
        out["error"] = ErrorJson(st);
      }
    } else if (op == "void") {
      out.update(WriteJson(device->VoidSale(step["order_id"].get<std::string>(), &w), w));
    } else if (op == "refund") {
      out.update(WriteJson(device->RefundSale(step["order_id"].get<std::string>(), &w), w));
    } else if (op == "receive") {
      out.update(WriteJson(device->ReceiveStock(step["product_id"].get<std::string>(), step["qty"].get<int64_t>(), &w), w));
    } else if (op == "adjust") {
      out.update(WriteJson(device->AdjustStock(step["product_id"].get<std::string>(), step["qty"].get<int64_t>(), &w), w));
    } else if (op == "expense") {
      out.update(WriteJson(
          device->RecordExpense(step["description"].get<std::string>(), step["amount_minor"].get<int64_t>(), &w), w));
    } else if (op == "query") {
      Json rows;
      Status st = device->Query(step["sql"].get<std::string>(), step.value("params", Json::array()), &rows);
      if (st.ok()) out["result"] = rows;
      else out["error"] = ErrorJson(st);
    } else if (op == "sync") {
      // The same loop as worker/owner.js: push while there is something to send, then pull
      // while the hub says there is more.
      Json exchanges = Json::array();
      device->SyncStarted();
      for (;;) {
        std::string body, answer;
        int64_t count = 0;
        if (!(s = device->BuildPush(&body, &count)).ok()) return Fail("build push", s);
        if (count == 0) break;
        if (!(s = hub->Push(caller, body, &answer)).ok()) return Fail("hub push", s);
        exchanges.push_back(Json{{"route", "push"}, {"request", body}, {"response", answer}});
        if (!(s = device->HandlePushResponse(answer)).ok()) return Fail("handle push", s);
      }
      for (;;) {
        std::string body, answer;
        PullOutcome o;
        if (!(s = device->BuildPull(&body)).ok()) return Fail("build pull", s);
        if (!(s = hub->Pull(caller, body, &answer)).ok()) return Fail("hub pull", s);
        if (!(s = device->HandlePullResponse(answer, &o)).ok()) return Fail("handle pull", s);
        exchanges.push_back(Json{{"route", "pull"}, {"request", body}, {"response", answer},
                                 {"outcome", {{"more", o.more}, {"rows", o.rows}, {"remaining", o.remaining},
                                              {"checksum_checked", o.checksum_checked}}}});
        if (!o.more) break;
      }
      if (!(s = device->SyncSucceeded()).ok()) return Fail("sync succeeded", s);
      out["exchanges"] = exchanges;
    } else {
      std::fprintf(stderr, "tillsync_parity: unknown op %s\n", op.c_str());
      return 2;
    }
    steps.push_back(out);
  }

  std::string device_dump, hub_dump;
  uint64_t device_sum = 0, hub_sum = 0;
  if (!(s = device->CanonicalDump(&device_dump)).ok()) return Fail("device dump", s);
  if (!(s = device->LocalChecksum(&device_sum)).ok()) return Fail("device checksum", s);
  if (!(s = hub->CanonicalDump(shop.id, &hub_dump)).ok()) return Fail("hub dump", s);
  if (!(s = hub->ShopChecksum(shop.id, &hub_sum)).ok()) return Fail("hub checksum", s);
  Json transcript = {{"identity", {{"device_id", identity.device_id}, {"shop_id", identity.shop_id},
                                   {"receipt_prefix", identity.receipt_prefix}, {"currency", identity.currency}}},
                     {"steps", steps},
                     {"device_dump", device_dump},
                     {"device_checksum", ChecksumHex(device_sum)},
                     {"hub_dump", hub_dump},
                     {"hub_checksum", ChecksumHex(hub_sum)}};
  std::printf("%s\n", DumpJson(transcript).c_str());
  device.reset();
  hub.reset();
  for (const char* f : {"/hub.db", "/hub.db-wal", "/hub.db-shm", "/device.db", "/device.db-wal", "/device.db-shm"})
    unlink((dir + f).c_str());
  rmdir(dir.c_str());
  return 0;
}
