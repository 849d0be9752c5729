// hub_load: a load generator for the hub over loopback. A program that prints figures, not a test.
//
// It starts a real `tillsync-server serve` on a fresh database in a temp dir (WAL,
// synchronous=FULL: every acknowledged push is durable), provisions shops and devices through the
// HTTP API, and then runs N simulated devices, each a thread with its own keep-alive HTTP
// connection, in a closed loop (or at a fixed rate: --rate-per-device): record a sale (order +
// 3 lines + 1 payment + 3 stock movements,
// one operation), push it, wait for the answer; every --pull-every sales, pull the shop's new
// rows (all pages). Per level it prints sales/s acknowledged, push and pull latency percentiles,
// and the server's group-commit figures. Levels run one after the other, each on a fresh server.
//
// Side by side in the same run: the raw limit of the disk (4 KiB write + fdatasync per second,
// which is what one commit per push would allow), and the same hub with group commit turned off
// (--max-group 1) at the highest device count.
//
//   ./build/bench_hub                         # 10 and 100 devices, 4 per shop, 10 s each
//   ./build/bench_hub --devices 10,50,100 --seconds 20 --devices-per-shop 4 --pull-every 10
//   ./build/bench_hub --pull-every 0          # ingest only: push, never pull
//   ./build/bench_hub --rate-per-device 10    # open loop: each device records 10 sales/s
//
// The server runs with --rate-limit 0: simulated devices push far faster than real tills, and
// the per-token limit would otherwise be what is measured.
#include <httplib.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/hybrid_clock.h"
#include "core/json_reader.h"
#include "core/operation.h"
#include "core/protocol.h"

namespace {

using Clock = std::chrono::steady_clock;
using tillsync::Json;

struct Options {
  std::string server = "build/tillsync-server";
  std::vector<int> devices = {10, 100};
  int devices_per_shop = 4;
  double seconds = 10;
  double warmup = 2;
  int pull_every = 10;
  double rate_per_device = 0;  // sales/s each device offers (open loop); 0: closed loop, as fast as answered
  bool baseline = true;  // also run --max-group 1 at the highest device count
  bool detail = true;    // print the open loop's from-planned figures and the server's phases
  std::vector<std::string> server_args;  // extra `serve` flags (--server-arg X, repeatable)
  // Sale bodies built before the measured phase, across all devices (each sale still distinct):
  // building a sale's JSON costs this program CPU on the same 2 cores as the hub.
  int64_t prebuilt_total = 60000;
  std::string dir;       // empty: a fresh temp dir
};

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = size_t(p * double(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// ---- the server process ---------------------------------------------------------------------

struct ServerProcess {
  pid_t pid = -1;
  int stdin_fd = -1;
  int port = 0;
  std::string operator_token;

  bool Start(const std::string& bin, const std::string& db, const std::vector<std::string>& extra) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return false;
    pid = fork();
    if (pid == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      std::vector<std::string> args = {bin, "serve", "--db", db, "--port", "0", "--exit-with-stdin", "--rate-limit", "0"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_fd = in[1];  // kept open: the server exits when this process does
    FILE* f = fdopen(out[0], "r");
    char line[512];
    while (fgets(line, sizeof line, f) != nullptr) {
      std::string l(line);
      if (l.rfind("operator token: ", 0) == 0) operator_token = l.substr(16, l.find_first_of("\r\n") - 16);
      if (l.rfind("listening on http://", 0) == 0) {
        port = std::atoi(l.substr(l.rfind(':') + 1).c_str());
        break;
      }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread([f] {
      char buf[512];
      while (fgets(buf, sizeof buf, f) != nullptr) {
      }
      fclose(f);
    }).detach();
    return port > 0;
  }

  void Stop() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    close(stdin_fd);
    pid = -1;
  }
};

// ---- simulated devices ------------------------------------------------------------------------

struct Product {
  const char* id;
  const char* name;
  int64_t price;
  int64_t tax_bp;
};
const Product kProducts[] = {
    {"bench-coffee", "Coffee", 250, 1900}, {"bench-bagel", "Bagel", 320, 700}, {"bench-juice", "Juice", 399, 1900}};

struct DeviceState {
  std::string id, token, shop_id, prefix;
  int64_t seq = 0, rows = 0, receipts = 0, cursor = 0, last_wall = 0;
  uint32_t logical = 0;

  std::string RowId() { return id + "." + std::to_string(++rows); }

  std::string Hlc(int64_t wall) {
    if (wall > last_wall) {
      last_wall = wall;
      logical = 0;
    } else {
      ++logical;
    }
    tillsync::HlcTimestamp ts{last_wall, logical, id};
    return ts.ToString();
  }

  // One sale as one operation, exactly as a till records it (core/device.cc RecordSale).
  std::string SalePush() {
    using tillsync::Change;
    int64_t now = WallMs();
    tillsync::Operation op;
    op.seq = ++seq;
    op.wall_ms = now;
    op.hlc = Hlc(now);
    std::string order_id = RowId();
    int64_t subtotal = 0, tax = 0;
    std::vector<Change> lines, moves;
    int64_t qty = 1;
    for (const Product& p : kProducts) {
      int64_t total = qty * p.price, line_tax = (total * p.tax_bp + 5000) / 10000;
      subtotal += total;
      tax += line_tax;
      lines.push_back(Change{"order_lines", RowId(),
                             Json{{"order_id", order_id}, {"shop_id", shop_id}, {"product_id", p.id}, {"name", p.name},
                                  {"qty", qty}, {"unit_price_minor", p.price}, {"tax_minor", line_tax},
                                  {"line_total_minor", total}}});
      moves.push_back(Change{"stock_movements", RowId(),
                             Json{{"shop_id", shop_id}, {"product_id", p.id}, {"qty_delta", -qty}, {"kind", "sale"},
                                  {"ref_id", order_id}, {"created_at", now}}});
      qty = qty == 1 ? 2 : 1;
    }
    char receipt[64];
    std::snprintf(receipt, sizeof receipt, "%s-%06lld", prefix.c_str(), static_cast<long long>(++receipts));
    op.changes.push_back(Change{"sales_orders", order_id,
                                Json{{"shop_id", shop_id}, {"device_id", id}, {"receipt_no", receipt},
                                     {"status", "completed"}, {"subtotal_minor", subtotal}, {"tax_minor", tax},
                                     {"total_minor", subtotal + tax}, {"currency", "EUR"}, {"created_at", now}}});
    for (Change& c : lines) op.changes.push_back(std::move(c));
    op.changes.push_back(Change{"payments", RowId(),
                                Json{{"order_id", order_id}, {"shop_id", shop_id}, {"method", "card"},
                                     {"amount_minor", subtotal + tax}, {"tendered_minor", subtotal + tax},
                                     {"change_minor", 0}}});
    for (Change& c : moves) op.changes.push_back(std::move(c));
    tillsync::PushRequest req;
    req.device_id = id;
    req.schema_version = 1;
    req.ops.push_back(std::move(op));
    return tillsync::EncodePushRequest(req);
  }
};

httplib::Headers Auth(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

bool Provision(int port, const std::string& op_token, int shops, int devices, std::vector<DeviceState>* out) {
  httplib::Client c("127.0.0.1", port);
  Json changes = Json::array();
  for (const Product& p : kProducts)
    changes.push_back(Json{{"table", "products"}, {"id", p.id},
                           {"values", {{"name", p.name}, {"price_minor", p.price}, {"tax_rate_bp", p.tax_bp}, {"active", 1}}}});
  auto r = c.Post("/v1/admin/catalog", Auth(op_token), Json{{"changes", changes}}.dump(), "application/json");
  if (!r || r->status != 200) return false;
  std::vector<std::pair<std::string, std::string>> shop_tokens;
  for (int s = 0; s < shops; ++s) {
    auto sr = c.Post("/v1/shops", Auth(op_token), Json{{"name", "Bench shop " + std::to_string(s)}}.dump(),
                     "application/json");
    if (!sr || sr->status != 201) return false;
    Json j = Json::parse(sr->body, nullptr, false);
    shop_tokens.push_back({j.value("shop_id", ""), j.value("shop_token", "")});
  }
  for (int d = 0; d < devices; ++d) {
    const auto& shop = shop_tokens[size_t(d % shops)];
    auto dr = c.Post("/v1/devices", Auth(shop.second), Json{{"name", "Till " + std::to_string(d)}}.dump(),
                     "application/json");
    if (!dr || dr->status != 201) return false;
    Json j = Json::parse(dr->body, nullptr, false);
    DeviceState st;
    st.id = j.value("device_id", "");
    st.token = j.value("device_token", "");
    st.shop_id = shop.first;
    st.prefix = j.value("receipt_prefix", "D");
    out->push_back(st);
  }
  return true;
}

// CPU seconds (user + system) from a /proc/.../stat file.
double StatCpuSeconds(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields;
  size_t i = close + 2;
  while (i < text.size()) {
    size_t j = text.find(' ', i);
    if (j == std::string::npos) j = text.size();
    fields.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  // Fields after the command: state is [0]; utime is field 14 of the line, [11] here; stime [12].
  if (fields.size() < 13) return 0;
  return double(std::atoll(fields[11].c_str()) + std::atoll(fields[12].c_str())) / double(sysconf(_SC_CLK_TCK));
}

double ProcessCpuSeconds(pid_t pid) { return StatCpuSeconds("/proc/" + std::to_string(pid) + "/stat"); }

// CPU seconds of every thread of a process, by thread id.
std::map<int, double> ThreadCpuSeconds(pid_t pid) {
  std::map<int, double> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    out[std::atoi(e->d_name)] = StatCpuSeconds(dir + "/" + e->d_name + "/stat");
  }
  closedir(d);
  return out;
}

struct LevelResult {
  int devices = 0;
  std::string mode;
  double seconds = 0;
  int64_t sales = 0, pulls = 0, pull_rows = 0, errors = 0, built_live = 0;
  std::vector<double> push_ms, pull_ms;
  // Open loop only: each push's latency counted from the moment its sale was due (so a send made
  // late, because the device's previous push was still waiting or its thread was not scheduled,
  // counts that delay too), and how late each send left.
  std::vector<double> push_from_due_ms, send_late_ms;
  Json timings_before, timings_after;  // the server's push_timings at the window's two ends
  int64_t groups = 0, pushes_in_groups = 0, largest_group = 0;
  int64_t wal_frames = -1;  // frames the hub's commits wrote to its WAL in the window (-1: not reported)
  int64_t page_size = 4096;
  double server_cpu_s = 0, client_cpu_s = 0;
  double writer_cpu_s = 0;  // the busiest server thread: the push writer
};

Json Stats(int port, const std::string& op_token) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/v1/admin/stats", Auth(op_token));
  if (!r || r->status != 200) return Json::object();
  return Json::parse(r->body, nullptr, false);
}

LevelResult RunLevel(const Options& o, int devices, const std::string& mode, const std::vector<std::string>& extra) {
  LevelResult result;
  result.devices = devices;
  result.mode = mode;
  std::string db = o.dir + "/hub-" + std::to_string(devices) + "-" + mode + ".db";
  ServerProcess server;
  if (!server.Start(o.server, db, extra)) {
    std::fprintf(stderr, "bench_hub: cannot start %s\n", o.server.c_str());
    std::exit(1);
  }
  std::vector<DeviceState> states;
  int shops = (devices + o.devices_per_shop - 1) / o.devices_per_shop;
  if (!Provision(server.port, server.operator_token, shops, devices, &states)) {
    std::fprintf(stderr, "bench_hub: provisioning failed\n");
    server.Stop();
    std::exit(1);
  }

  // Pre-build each device's sale bodies (in order: seq and clocks stay consecutive), enough for
  // the whole run in the open loop; a device that uses them up builds the rest as it goes
  // (counted: `built live` in the summary line).
  int64_t per_device = std::max<int64_t>(1, o.prebuilt_total / int64_t(std::max(devices, 1)));
  if (o.rate_per_device > 0)
    per_device = int64_t(o.rate_per_device * (o.warmup + o.seconds + 2)) + 1;
  std::vector<std::vector<std::string>> bodies(states.size());
  for (size_t i = 0; i < states.size(); ++i) {
    bodies[i].reserve(size_t(per_device));
    for (int64_t k = 0; k < per_device; ++k) bodies[i].push_back(states[i].SalePush());
  }

  std::atomic<bool> measuring{false}, running{true};
  struct PerThread {
    std::vector<double> push_ms, pull_ms, push_from_due_ms, send_late_ms;
    int64_t sales = 0, pulls = 0, pull_rows = 0, errors = 0, built_live = 0;
  };
  std::vector<PerThread> per(states.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < states.size(); ++i) {
    threads.emplace_back([&, i] {
      DeviceState& d = states[i];
      PerThread& t = per[i];
      httplib::Client c("127.0.0.1", server.port);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);  // as browsers do; otherwise Nagle + delayed ACK adds 40 ms per request
      c.set_read_timeout(30, 0);
      httplib::Headers auth = Auth(d.token);
      int since_pull = 0;
      std::string body;
      size_t next_body = 0;
      // Open loop: sale k is due at start + k / rate (staggered per device), whatever the hub's
      // answers did; a device that falls behind pushes at once.
      double period_us = o.rate_per_device > 0 ? 1e6 / o.rate_per_device : 0;
      auto next_due = Clock::now() + std::chrono::microseconds(int64_t(period_us * double(i) / double(states.size())));
      Clock::time_point due;  // when the current sale was due (open loop)
      while (running.load()) {
        if (o.rate_per_device > 0 && body.empty()) {
          std::this_thread::sleep_until(next_due);
          due = next_due;
          next_due += std::chrono::microseconds(int64_t(period_us));
        }
        if (body.empty()) {
          if (next_body < bodies[i].size()) {
            body = std::move(bodies[i][next_body++]);
          } else {
            body = d.SalePush();
            if (measuring.load()) ++t.built_live;
          }
        }
        auto t0 = Clock::now();
        auto r = c.Post("/v1/push", auth, body, "application/json");
        auto t1 = Clock::now();
        double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
        bool ok = r && r->status == 200 && r->body.find("\"applied\"") != std::string::npos;
        if (!ok) {
          if (measuring.load()) ++t.errors;
          // Not acknowledged: resend the same operation, as a till does.
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        body.clear();
        if (measuring.load()) {
          t.push_ms.push_back(ms);
          ++t.sales;
          if (o.rate_per_device > 0) {
            t.push_from_due_ms.push_back(std::chrono::duration<double, std::milli>(t1 - due).count());
            t.send_late_ms.push_back(std::chrono::duration<double, std::milli>(t0 - due).count());
          }
        }
        if (o.pull_every > 0 && ++since_pull >= o.pull_every) {
          since_pull = 0;
          bool more = true;
          while (more && running.load()) {
            Json pull = {{"v", 1}, {"device_id", d.id}, {"schema_version", 1}, {"cursor", d.cursor}, {"limit", 1000}};
            auto p0 = Clock::now();
            auto pr = c.Post("/v1/pull", auth, pull.dump(), "application/json");
            double pms = std::chrono::duration<double, std::milli>(Clock::now() - p0).count();
            if (!pr || pr->status != 200) {
              if (measuring.load()) ++t.errors;
              break;
            }
            Json j = Json::parse(pr->body, nullptr, false);
            if (!j.is_object()) break;
            d.cursor = j.value("cursor", d.cursor);
            more = j.value("more", false);
            if (measuring.load()) {
              t.pull_ms.push_back(pms);
              ++t.pulls;
              t.pull_rows += int64_t(j.contains("rows") ? j["rows"].size() : 0);
            }
          }
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  Json before = Stats(server.port, server.operator_token);
  double server_cpu0 = ProcessCpuSeconds(server.pid), client_cpu0 = ProcessCpuSeconds(getpid());
  std::map<int, double> threads0 = ThreadCpuSeconds(server.pid);
  measuring.store(true);
  auto m0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  measuring.store(false);
  result.seconds = std::chrono::duration<double>(Clock::now() - m0).count();
  result.server_cpu_s = ProcessCpuSeconds(server.pid) - server_cpu0;
  result.client_cpu_s = ProcessCpuSeconds(getpid()) - client_cpu0;
  for (const auto& [tid, cpu] : ThreadCpuSeconds(server.pid))
    result.writer_cpu_s = std::max(result.writer_cpu_s, cpu - (threads0.count(tid) ? threads0[tid] : 0.0));
  Json after = Stats(server.port, server.operator_token);
  running.store(false);
  for (std::thread& t : threads) t.join();
  for (PerThread& t : per) {
    result.push_ms.insert(result.push_ms.end(), t.push_ms.begin(), t.push_ms.end());
    result.pull_ms.insert(result.pull_ms.end(), t.pull_ms.begin(), t.pull_ms.end());
    result.push_from_due_ms.insert(result.push_from_due_ms.end(), t.push_from_due_ms.begin(), t.push_from_due_ms.end());
    result.send_late_ms.insert(result.send_late_ms.end(), t.send_late_ms.begin(), t.send_late_ms.end());
    result.sales += t.sales;
    result.pulls += t.pulls;
    result.pull_rows += t.pull_rows;
    result.errors += t.errors;
    result.built_live += t.built_live;
  }
  if (before.contains("server") && after.contains("server")) {
    result.groups = after["server"].value("push_groups", 0) - before["server"].value("push_groups", 0);
    result.pushes_in_groups = after["server"].value("pushes", 0) - before["server"].value("pushes", 0);
    result.largest_group = after["server"].value("largest_group", 0);
    if (after["server"].contains("wal_frames_written"))
      result.wal_frames = after["server"].value("wal_frames_written", int64_t(0)) -
                          before["server"].value("wal_frames_written", int64_t(0));
    result.page_size = after["server"].value("page_size", int64_t(4096));
  }
  if (before.contains("push_timings")) result.timings_before = before["push_timings"];
  if (after.contains("push_timings")) result.timings_after = after["push_timings"];
  server.Stop();
  return result;
}

// The raw limit: how many durable 4 KiB appends per second this disk takes, one at a time.
void DiskFloor(const std::string& dir, double* p50, double* p99, double* per_s) {
  std::string path = dir + "/fsync-probe";
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  std::vector<double> ms;
  char block[4096];
  std::memset(block, 'x', sizeof block);
  auto start = Clock::now();
  for (int i = 0; i < 300; ++i) {
    auto t0 = Clock::now();
    if (pwrite(fd, block, sizeof block, off_t(i) * 4096) != ssize_t(sizeof block)) break;
    fdatasync(fd);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  double total = std::chrono::duration<double>(Clock::now() - start).count();
  close(fd);
  unlink(path.c_str());
  *p50 = Percentile(ms, 0.5);
  *p99 = Percentile(ms, 0.99);
  *per_s = double(ms.size()) / total;
}

std::vector<int> ParseList(const char* s) {
  std::vector<int> out;
  std::string text(s);
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    out.push_back(std::atoi(text.substr(i, j - i).c_str()));
    i = j + 1;
  }
  return out;
}

void PrintRow(const LevelResult& r) {
  double avg_group = r.groups > 0 ? double(r.pushes_in_groups) / double(r.groups) : 0;
  double sales = double(std::max<int64_t>(r.sales, 1));
  std::printf("%7d  %-14s %9.0f  %8.2f  %8.2f  %8.2f  %7.0f  %8.2f  %8.2f  %9.1f  %8.0f  %8.0f  %8.0f  %6lld  %6lld\n",
              r.devices, r.mode.c_str(), double(r.sales) / r.seconds, Percentile(r.push_ms, 0.5),
              Percentile(r.push_ms, 0.99), Percentile(r.push_ms, 0.999), double(r.pulls) / r.seconds,
              Percentile(r.pull_ms, 0.5), Percentile(r.pull_ms, 0.99), avg_group, r.server_cpu_s * 1e6 / sales,
              r.writer_cpu_s * 1e6 / sales, r.client_cpu_s * 1e6 / sales, static_cast<long long>(r.errors),
              static_cast<long long>(r.built_live));
  std::fflush(stdout);
}

// One phase of the server's push_timings over the measured window: the difference of two
// cumulative histograms ([[upper_us, count], ...]), as count and percentiles in ms (each an
// upper bucket bound: at most 12.5 % above the true value).
struct PhaseFigures {
  int64_t count = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0;
};

PhaseFigures Phase(const Json& before, const Json& after) {
  PhaseFigures f;
  std::map<int64_t, int64_t> counts;
  if (after.is_object() && after.contains("buckets"))
    for (const Json& b : after["buckets"]) counts[b[0].get<int64_t>()] += b[1].get<int64_t>();
  if (before.is_object() && before.contains("buckets"))
    for (const Json& b : before["buckets"]) counts[b[0].get<int64_t>()] -= b[1].get<int64_t>();
  for (const auto& [upper, n] : counts) f.count += n;
  if (f.count <= 0) return f;
  auto at = [&](double p) {
    int64_t rank = std::max<int64_t>(1, int64_t(p * double(f.count) + 0.999999)), seen = 0;
    for (const auto& [upper, n] : counts) {
      seen += n;
      if (seen >= rank) return double(upper) / 1000.0;
    }
    return 0.0;
  };
  f.p50 = at(0.5);
  f.p99 = at(0.99);
  f.p999 = at(0.999);
  for (const auto& [upper, n] : counts)
    if (n > 0) f.max = double(upper) / 1000.0;
  return f;
}

// Below a level's row: the open loop's latency from each sale's planned time, and where the
// server's time went (only with a server that reports push_timings).
void PrintDetail(const LevelResult& r) {
  if (!r.push_from_due_ms.empty())
    std::printf("         from planned send time: push p50 %.2f  p99 %.2f  p999 %.2f ms; send late p50 %.2f  p99 %.2f  "
                "p999 %.2f ms\n",
                Percentile(r.push_from_due_ms, 0.5), Percentile(r.push_from_due_ms, 0.99),
                Percentile(r.push_from_due_ms, 0.999), Percentile(r.send_late_ms, 0.5), Percentile(r.send_late_ms, 0.99),
                Percentile(r.send_late_ms, 0.999));
  if (r.wal_frames >= 0 && r.sales > 0)
    std::printf("         WAL: %.1f frames written per sale acknowledged, %.1f per commit, %.1f MB/s (page size %lld)\n",
                double(r.wal_frames) / double(r.sales), r.groups > 0 ? double(r.wal_frames) / double(r.groups) : 0.0,
                double(r.wal_frames) * double(r.page_size + 24) / r.seconds / 1e6, static_cast<long long>(r.page_size));
  if (!r.timings_after.is_object() || r.timings_after.empty()) return;
  std::printf("         server phases (ms)  %8s %8s %8s %8s %8s\n", "count", "p50", "p99", "p999", "max");
  for (const char* name : {"handler", "prepare", "queue_wait", "group", "commit", "after_group", "checkpoint",
                           "helper_checkpoint", "wake"}) {
    Json none = Json::object();
    PhaseFigures f = Phase(r.timings_before.contains(name) ? r.timings_before[name] : none,
                           r.timings_after.contains(name) ? r.timings_after[name] : none);
    std::printf("         %-18s %8lld %8.2f %8.2f %8.2f %8.2f\n", name, static_cast<long long>(f.count), f.p50, f.p99,
                f.p999, f.max);
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_hub: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--server") o.server = next();
    else if (a == "--devices") o.devices = ParseList(next());
    else if (a == "--devices-per-shop") o.devices_per_shop = std::max(1, std::atoi(next()));
    else if (a == "--seconds") o.seconds = std::atof(next());
    else if (a == "--warmup") o.warmup = std::atof(next());
    else if (a == "--pull-every") o.pull_every = std::atoi(next());
    else if (a == "--rate-per-device") o.rate_per_device = std::atof(next());
    else if (a == "--dir") o.dir = next();
    else if (a == "--no-baseline") o.baseline = false;
    else if (a == "--no-detail") o.detail = false;
    else if (a == "--server-arg") o.server_args.push_back(next());
    else if (a == "--prebuilt") o.prebuilt_total = std::atoll(next());
    else {
      std::fprintf(stderr,
                   "usage: bench_hub [--server build/tillsync-server] [--devices 10,100] [--devices-per-shop 4] [--seconds 10]\n"
                   "                 [--warmup 2] [--pull-every 10] [--rate-per-device 0] [--dir DIR] [--no-baseline]\n"
                   "                 [--prebuilt 60000] [--no-detail] [--server-arg FLAG]...\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  // A temp dir of our own is removed at the end (each level's hub database can reach hundreds of
  // MB); a --dir the caller named is left as it is, to be looked at.
  bool own_dir = false;
  if (o.dir.empty()) {
    char tmpl[] = "/tmp/bench_hub.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 1;
    o.dir = tmpl;
    own_dir = true;
  }
  double p50 = 0, p99 = 0, per_s = 0;
  DiskFloor(o.dir, &p50, &p99, &per_s);
  std::printf("bench_hub: tillsync-server over loopback, fresh database per level in %s\n", o.dir.c_str());
  std::printf("durable acks: WAL + synchronous=FULL; a sale = order + 3 lines + 1 payment + 3 stock movements, one op per push\n");
  if (o.rate_per_device > 0)
    std::printf("open loop: each device records %.1f sales/s (%.0f sales/s offered at the largest level)\n",
                o.rate_per_device, o.rate_per_device * double(*std::max_element(o.devices.begin(), o.devices.end())));
  std::printf("%d devices per shop; each device: push every sale, pull (all pages) every %d sales\n"
              "(0: never); %.0f s warm-up, %.0f s measured. CPU per sale: srv = the whole server, writer = its busiest\n"
              "thread (the push writer, whose CPU per sale bounds sales/s at 1e6/writer on a free core), cli = this program\n"
              "(sale bodies pre-built before each level: %lld in all, or enough for the run in the open loop;\n"
              "live = sales built during the measured phase because a device used up its pre-built ones)\n",
              o.devices_per_shop, o.pull_every, o.warmup, o.seconds, static_cast<long long>(o.prebuilt_total));
  std::printf("raw limit: 4 KiB pwrite + fdatasync p50 %.2f ms, p99 %.2f ms = %.0f durable commits/s one at a time\n\n",
              p50, p99, per_s);
  std::printf("devices  mode             sales/s  push p50  push p99 push p999   pulls/s  pull p50  pull p99  avg group  "
              "srv cpu   writer  cli cpu  errors    live\n");
  std::printf("                                      (ms)      (ms)      (ms)               (ms)      (ms)  (per commit) "
              "(us/sale) (us/sale) (us/sale)         (sales)\n");
  int top = 0;
  for (int n : o.devices) {
    LevelResult r = RunLevel(o, n, "group commit", o.server_args);
    PrintRow(r);
    if (o.detail) PrintDetail(r);
    top = std::max(top, n);
  }
  if (o.baseline && top > 0) PrintRow(RunLevel(o, top, "max-group 1", {"--max-group", "1"}));
  if (own_dir) std::filesystem::remove_all(o.dir);
  return 0;
}
