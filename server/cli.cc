#include "server/cli.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/hub.h"
#include "core/json_reader.h"
#include "server/auth_store.h"
#include "server/http_api.h"
#include "server/instance_lock.h"
#include "server/serve.h"

namespace tillsync::server {
namespace {

const char* kUsage = R"(usage: tillsync-server COMMAND [options]

  serve --db PATH [--host 127.0.0.1] [--port 8080 (0: any free port)] [--static DIR] [--demo]
        [--min-schema-version N] [--threads 256] [--rate-limit 100] [--rate-burst 200]
        [--address-rate-limit 5] [--address-burst 30] [--max-body-bytes 4194304]
        [--read-timeout-ms 5000] [--write-timeout-ms 5000] [--keep-alive-seconds 5]
        [--max-group 512] [--idle-exit-seconds N] [--exit-with-stdin]
  create-shop --db PATH --name NAME [--currency EUR]
  list-shops --db PATH
  register-device --db PATH --shop SHOP_ID --name NAME
  rotate-token --db PATH (--operator | --shop SHOP_ID | --device DEVICE_ID) [--ttl-seconds N]
  revoke-token --db PATH (--token TOKEN | --device DEVICE_ID | --shop SHOP_ID)
  stats --db PATH
  check --db PATH
  routes
)";

struct Args {
  std::string command;
  std::map<std::string, std::string> values;  // --key value
  std::map<std::string, bool> flags;          // --flag
};

// Options that take no value.
bool IsFlag(const std::string& name) {
  return name == "demo" || name == "exit-with-stdin" || name == "operator" || name == "help";
}

bool Parse(int argc, char** argv, Args* out, std::string* error) {
  if (argc < 2) {
    *error = "missing command";
    return false;
  }
  out->command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) {
      *error = "unexpected argument " + a;
      return false;
    }
    std::string name = a.substr(2);
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      out->values[name.substr(0, eq)] = name.substr(eq + 1);
    } else if (IsFlag(name)) {
      out->flags[name] = true;
    } else if (i + 1 < argc) {
      out->values[name] = argv[++i];
    } else {
      *error = "--" + name + " needs a value";
      return false;
    }
  }
  return true;
}

int Usage(const std::string& error) {
  if (!error.empty()) std::fprintf(stderr, "tillsync-server: %s\n", error.c_str());
  std::fputs(kUsage, stderr);
  return 2;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "tillsync-server: %s\n", s.ToString().c_str());
  return 1;
}

int Print(const Json& j) {
  std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

bool Number(const Args& a, const char* key, int64_t* out, std::string* error) {
  auto it = a.values.find(key);
  if (it == a.values.end()) return true;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0') {
    *error = std::string("--") + key + " must be an integer";
    return false;
  }
  *out = v;
  return true;
}

std::string Value(const Args& a, const char* key) {
  auto it = a.values.find(key);
  return it == a.values.end() ? std::string() : it->second;
}

Status OpenHub(const std::string& db, std::unique_ptr<Hub>* hub) { return Hub::Open(db, HubOptions(), hub); }

bool ShopExists(Hub* hub, const std::string& id, Status* s) {
  std::vector<ShopRecord> shops;
  *s = hub->ListShops(&shops);
  for (const ShopRecord& shop : shops)
    if (shop.id == id) return true;
  return false;
}

int CmdServe(const Args& a) {
  ServeOptions o;
  std::string error;
  o.db_path = Value(a, "db");
  if (o.db_path.empty()) return Usage("serve needs --db PATH");
  if (!Value(a, "host").empty()) o.host = Value(a, "host");
  o.static_dir = Value(a, "static");
  o.demo = a.flags.count("demo") > 0;
  o.exit_with_stdin = a.flags.count("exit-with-stdin") > 0;
  int64_t port = o.port, threads = o.threads, max_body = int64_t(o.max_body_bytes), read_ms = o.read_timeout_ms,
          write_ms = o.write_timeout_ms, keep_alive = o.keep_alive_s, idle = o.idle_exit_s,
          group = int64_t(o.max_group), rate = int64_t(o.rate_per_s), burst = int64_t(o.rate_burst),
          arate = int64_t(o.address_rate_per_s), aburst = int64_t(o.address_burst);
  if (!Number(a, "port", &port, &error) || !Number(a, "threads", &threads, &error) ||
      !Number(a, "max-body-bytes", &max_body, &error) || !Number(a, "read-timeout-ms", &read_ms, &error) ||
      !Number(a, "write-timeout-ms", &write_ms, &error) || !Number(a, "keep-alive-seconds", &keep_alive, &error) ||
      !Number(a, "idle-exit-seconds", &idle, &error) || !Number(a, "max-group", &group, &error) ||
      !Number(a, "rate-limit", &rate, &error) || !Number(a, "rate-burst", &burst, &error) ||
      !Number(a, "address-rate-limit", &arate, &error) || !Number(a, "address-burst", &aburst, &error) ||
      !Number(a, "min-schema-version", &o.min_schema_version, &error))
    return Usage(error);
  if (port < 0 || port > 65535) return Usage("--port must be 0 to 65535");
  if (threads < 1 || threads > 4096) return Usage("--threads must be 1 to 4096");
  if (max_body < 1024) return Usage("--max-body-bytes must be at least 1024");
  if (read_ms < 1 || write_ms < 1 || keep_alive < 1) return Usage("timeouts must be positive");
  if (group < 1) return Usage("--max-group must be at least 1");
  o.port = int(port);
  o.threads = int(threads);
  o.max_body_bytes = size_t(max_body);
  o.read_timeout_ms = int(read_ms);
  o.write_timeout_ms = int(write_ms);
  o.keep_alive_s = int(keep_alive);
  o.idle_exit_s = int(idle);
  o.max_group = size_t(group);
  o.rate_per_s = double(rate);
  o.rate_burst = double(burst);
  o.address_rate_per_s = double(arate);
  o.address_burst = double(aburst);
  return Serve(o);
}

int CmdCreateShop(const Args& a, const std::string& db) {
  std::string name = Value(a, "name"), currency = Value(a, "currency");
  if (currency.empty()) currency = "EUR";
  if (name.empty() || name.size() > 120) return Usage("create-shop needs --name (1 to 120 bytes)");
  if (currency.size() != 3 || currency.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos)
    return Usage("--currency must be three capital letters such as EUR");
  InstanceLock lock;
  Status s = lock.Acquire(db);
  if (!s.ok()) return Fail(s);
  std::unique_ptr<Hub> hub;
  std::unique_ptr<AuthStore> auth;
  ShopRecord shop;
  std::string token, code;
  s = OpenHub(db, &hub);
  if (s.ok()) s = AuthStore::Open(db, &auth);
  if (s.ok()) s = hub->CreateShop(name, currency, &shop);
  if (s.ok()) s = auth->IssueShopCredentials(shop.id, &token, &code);
  if (!s.ok()) return Fail(s);
  return Print(Json{{"shop_id", shop.id}, {"name", shop.name}, {"currency", shop.currency}, {"shop_token", token},
                    {"recovery_code", code}});
}

int CmdListShops(const std::string& db) {
  std::unique_ptr<Hub> hub;
  std::vector<ShopRecord> shops;
  Status s = OpenHub(db, &hub);
  if (s.ok()) s = hub->ListShops(&shops);
  Json list = Json::array();
  for (size_t i = 0; s.ok() && i < shops.size(); ++i) {
    std::vector<DeviceRecord> devices;
    s = hub->ListDevices(shops[i].id, &devices);
    Json dl = Json::array();
    for (const DeviceRecord& d : devices)
      dl.push_back(Json{{"device_id", d.id}, {"name", d.name}, {"receipt_prefix", d.receipt_prefix}});
    list.push_back(Json{{"shop_id", shops[i].id}, {"name", shops[i].name}, {"currency", shops[i].currency},
                        {"created_at", shops[i].created_at}, {"devices", dl}});
  }
  if (!s.ok()) return Fail(s);
  return Print(Json{{"shops", list}});
}

int CmdRegisterDevice(const Args& a, const std::string& db) {
  std::string shop_id = Value(a, "shop"), name = Value(a, "name");
  if (shop_id.empty() || name.empty() || name.size() > 120)
    return Usage("register-device needs --shop SHOP_ID and --name NAME");
  InstanceLock lock;
  Status s = lock.Acquire(db);
  if (!s.ok()) return Fail(s);
  std::unique_ptr<Hub> hub;
  std::unique_ptr<AuthStore> auth;
  DeviceRecord device;
  std::string token;
  s = OpenHub(db, &hub);
  if (s.ok()) s = AuthStore::Open(db, &auth);
  if (s.ok()) s = hub->RegisterDevice(shop_id, name, &device);
  if (s.ok()) s = auth->Issue(TokenKind::kDevice, shop_id, device.id, 0, &token);
  if (!s.ok()) return Fail(s);
  return Print(Json{{"device_id", device.id}, {"device_token", token}, {"name", device.name},
                    {"receipt_prefix", device.receipt_prefix}, {"shop_id", shop_id}});
}

int CmdRotateToken(const Args& a, const std::string& db) {
  int64_t ttl_s = 0;
  std::string error;
  if (!Number(a, "ttl-seconds", &ttl_s, &error)) return Usage(error);
  if (ttl_s < 0) return Usage("--ttl-seconds must be 0 (never expires) or more");
  bool op = a.flags.count("operator") > 0;
  std::string shop_id = Value(a, "shop"), device_id = Value(a, "device");
  if (int(op) + int(!shop_id.empty()) + int(!device_id.empty()) != 1)
    return Usage("rotate-token needs exactly one of --operator, --shop ID, --device ID");
  std::unique_ptr<Hub> hub;
  std::unique_ptr<AuthStore> auth;
  Status s = OpenHub(db, &hub);
  if (s.ok()) s = AuthStore::Open(db, &auth);
  if (!s.ok()) return Fail(s);
  TokenKind kind = TokenKind::kOperator;
  if (!shop_id.empty()) {
    kind = TokenKind::kShop;
    if (!ShopExists(hub.get(), shop_id, &s)) return Fail(s.ok() ? Status(ErrorCode::kNotFound, "no such shop") : s);
  } else if (!device_id.empty()) {
    kind = TokenKind::kDevice;
    DeviceRecord d;
    s = hub->FindDevice(device_id, &d);
    if (!s.ok()) return Fail(s);
    shop_id = d.shop_id;
  }
  std::string token;
  s = auth->Rotate(kind, shop_id, device_id, ttl_s * 1000, &token);
  if (!s.ok()) return Fail(s);
  Json out = {{"kind", TokenKindName(kind)}, {"token", token}};
  if (!shop_id.empty()) out["shop_id"] = shop_id;
  if (!device_id.empty()) out["device_id"] = device_id;
  if (ttl_s > 0) out["expires_in_seconds"] = ttl_s;
  return Print(out);
}

int CmdRevokeToken(const Args& a, const std::string& db) {
  std::string token = Value(a, "token"), device_id = Value(a, "device"), shop_id = Value(a, "shop");
  if (int(!token.empty()) + int(!device_id.empty()) + int(!shop_id.empty()) != 1)
    return Usage("revoke-token needs exactly one of --token TOKEN, --device ID, --shop ID");
  std::unique_ptr<AuthStore> auth;
  Status s = AuthStore::Open(db, &auth);
  if (!s.ok()) return Fail(s);
  int64_t n = 0;
  if (!token.empty()) {
    TokenRecord rec;
    bool found = false;
    s = auth->Lookup(token, &rec, &found);
    if (s.ok() && !found) s = Status(ErrorCode::kNotFound, "no such token");
    if (s.ok()) s = auth->RevokeHash(rec.hash, &n);
  } else if (!device_id.empty()) {
    s = auth->RevokeDevice(device_id, &n);
  } else {
    s = auth->RevokeShop(shop_id, &n);
  }
  if (!s.ok()) return Fail(s);
  return Print(Json{{"revoked", n}});
}

int CmdStats(const std::string& db) {
  std::unique_ptr<Hub> hub;
  HubStats st;
  Status s = OpenHub(db, &hub);
  if (s.ok()) s = hub->Stats(&st);
  if (!s.ok()) return Fail(s);
  return Print(Json{{"shops", st.shops}, {"devices", st.devices}, {"rows", st.rows}, {"ops_applied", st.ops_applied},
                    {"ops_rejected", st.ops_rejected}, {"ops_conflicted", st.ops_conflicted},
                    {"hub_seq", st.last_seq}, {"min_schema_version", hub->min_schema_version()}});
}

// Runs a query whose rows are (text key, integer value).
Status Pairs(Database* db, const char* sql, std::map<std::string, int64_t>* out) {
  Statement st;
  TS_RETURN_IF_ERROR(db->Prepare(sql, &st));
  while (true) {
    bool row = false;
    TS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    (*out)[st.Text(0)] = st.Int(1);
  }
  return Status::Ok();
}

int CmdCheck(const std::string& db_path) {
  OpenOptions open;
  open.create = false;
  std::unique_ptr<Database> db;
  Status s = Database::Open(db_path, open, &db);
  if (!s.ok()) return Fail(s);
  Json out = Json::object();
  bool ok = true;
  // 1. SQLite's own check of every page, index and constraint.
  {
    Statement st;
    s = db->Prepare("PRAGMA integrity_check", &st);
    std::string result;
    while (s.ok()) {
      bool row = false;
      s = st.Step(&row);
      if (!s.ok() || !row) break;
      result += (result.empty() ? "" : "; ") + st.Text(0);
    }
    if (!s.ok()) return Fail(s);
    out["integrity_check"] = result;
    ok = ok && result == "ok";
  }
  // 2. Exactly-once bookkeeping: every device's operations 1..last_seq each have exactly one
  // recorded answer, and the applied/rejected/conflict counters add up to the answers recorded.
  std::map<std::string, int64_t> last, count, maxseq, counters;
  s = Pairs(db.get(), "SELECT device_id, last_seq FROM _hub_devices", &last);
  if (s.ok()) s = Pairs(db.get(), "SELECT device_id, COUNT(*) FROM _hub_ops GROUP BY device_id", &count);
  if (s.ok()) s = Pairs(db.get(), "SELECT device_id, MAX(seq) FROM _hub_ops GROUP BY device_id", &maxseq);
  if (s.ok()) s = Pairs(db.get(), "SELECT key, value FROM _ts_kv WHERE key LIKE 'ops_%'", &counters);
  if (!s.ok()) return Fail(s);
  int64_t answers = 0, bad_devices = 0;
  for (const auto& [device, seq] : last) {
    int64_t n = count.count(device) ? count[device] : 0;
    int64_t m = maxseq.count(device) ? maxseq[device] : 0;
    answers += n;
    if (n != seq || m != seq) ++bad_devices;
  }
  int64_t counted = 0;
  for (const auto& [key, value] : counters) counted += value;
  out["devices"] = last.size();
  out["answers_recorded"] = answers;
  out["ops_counted"] = counted;
  out["devices_with_gaps"] = bad_devices;
  ok = ok && bad_devices == 0 && counted == answers;
  // 3. The incremental checksums equal a full recomputation (sum of row hashes mod 2^64).
  {
    std::map<std::string, uint64_t> sums;
    Statement st;
    s = db->Prepare("SELECT scope, hash FROM _ts_rows", &st);
    while (s.ok()) {
      bool row = false;
      s = st.Step(&row);
      if (!s.ok() || !row) break;
      sums[st.Text(0)] += uint64_t(st.Int(1));
    }
    std::map<std::string, int64_t> stored;
    if (s.ok()) s = Pairs(db.get(), "SELECT scope, sum FROM _ts_checksum", &stored);
    if (!s.ok()) return Fail(s);
    int64_t mismatched = 0;
    for (const auto& [scope, sum] : sums)
      if (!stored.count(scope) || uint64_t(stored[scope]) != sum) ++mismatched;
    out["scopes"] = sums.size();
    out["checksum_mismatches"] = mismatched;
    ok = ok && mismatched == 0;
  }
  out["ok"] = ok;
  Print(out);
  return ok ? 0 : 1;
}

}  // namespace

int RunCli(int argc, char** argv) {
  Args a;
  std::string error;
  if (!Parse(argc, argv, &a, &error)) return Usage(error);
  if (a.command == "help" || a.command == "--help" || a.flags.count("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (a.command == "routes") {
    std::printf("%s\n", RouteTableJson().c_str());
    return 0;
  }
  if (a.command == "serve") return CmdServe(a);
  std::string db = Value(a, "db");
  if (db.empty()) return Usage(a.command + " needs --db PATH");
  if (a.command == "create-shop") return CmdCreateShop(a, db);
  if (a.command == "list-shops") return CmdListShops(db);
  if (a.command == "register-device") return CmdRegisterDevice(a, db);
  if (a.command == "rotate-token") return CmdRotateToken(a, db);
  if (a.command == "revoke-token") return CmdRevokeToken(a, db);
  if (a.command == "stats") return CmdStats(db);
  if (a.command == "check") return CmdCheck(db);
  return Usage("unknown command " + a.command);
}

}  // namespace tillsync::server
