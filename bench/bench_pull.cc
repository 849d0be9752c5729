// bench_pull: the initial download through the core, natively (the floor under the browser's
// 100,000-product pull in bench/README.md "Browser"). A program that prints figures, not a test.
//
// A hub on a temp file holding N products (written by the operator, like the browser bench
// seeds it), one new device pulling every page of `--limit` rows. Per stage, in one run:
//   hub       Hub::Pull: read the page and encode it
//   decode    DecodePullResponse alone on the same bytes (part of "device")
//   device    Device::HandlePullResponse: decode, check, store rows + metadata + checksum, cursor
// Both databases at synchronous=OFF: this measures CPU, not the disk (the browser's OPFS commit
// per page is a few ms out of seconds).
//
// Usage: bench_pull [--products N] [--limit N] [--dir DIR] [--keep] [--barcodes]
//        bench_pull --profile      (the same, meant to run under perf record -g)
#include <unistd.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/hub.h"
#include "tests/support/sync_helpers.h"

namespace tillsync {
namespace {

using Clock = std::chrono::steady_clock;
double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// CPU time of this (single-threaded) process in ms: on a shared, loaded machine the wall times
// above swing with other processes' load; the CPU time of a stage swings much less.
double CpuMillis() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

void Die(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "bench_pull: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

int Run(int argc, char** argv) {
  int64_t products = 100000, limit = kMaxPullLimit;
  bool show_page = false;  // print the start of the first answer (what the wire carries)
  bool keep = false;       // leave the databases in --dir (to inspect the device's file)
  // Give each product a barcode (13 digits, in no relation to the id's order) and one of 200
  // categories, as a real catalog has: products_by_barcode and products_by_category then get
  // entries all over their key range, not (NULL, rowid) appended at the end.
  bool barcodes = false;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--products") products = std::atoll(next());
    else if (a == "--limit") limit = std::atoll(next());
    else if (a == "--dir") dir = next();
    else if (a == "--profile") {}
    else if (a == "--show-page") show_page = true;
    else if (a == "--keep") keep = true;
    else if (a == "--barcodes") barcodes = true;
    else {
      std::fprintf(stderr, "usage: bench_pull [--products N] [--limit N] [--dir DIR] [--keep] [--barcodes]\n");
      return 2;
    }
  }
  if (dir.empty()) dir = (std::filesystem::temp_directory_path() / ("bench_pull_" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);

  HubOptions ho;
  ho.open.synchronous = "OFF";
  std::unique_ptr<Hub> hub;
  Die(Hub::Open(dir + "/hub.db", ho, &hub), "open hub");
  ShopRecord shop;
  Die(hub->CreateShop("Bench shop", "EUR", &shop), "create shop");
  auto t0 = Clock::now();
  for (int64_t i = 0; i < products; i += 1000) {
    std::vector<Change> changes;
    for (int64_t k = i; k < std::min(products, i + 1000); ++k) {
      Change c;
      c.table = "products";
      c.id = "p-" + std::to_string(k);
      c.values = Json{{"name", "Product " + std::to_string(k)}, {"price_minor", 100 + k % 5000},
                      {"tax_rate_bp", k % 3 ? 700 : 1900}, {"active", 1}};
      if (barcodes) {
        // A multiplicative scramble of k: distinct for distinct k, spread over 10^12.
        const uint64_t scrambled = (uint64_t(k) * 2654435761u) % 1000000000000u;
        std::string digits = std::to_string(scrambled);
        c.values["barcode"] = "4" + std::string(12 - digits.size(), '0') + digits;
        c.values["category_id"] = "cat-" + std::to_string((k * 7919) % 200);
      }
      changes.push_back(std::move(c));
    }
    Die(hub->AdminWrite(changes), "seed");
  }
  double seed_ms = Millis(Clock::now() - t0);

  DeviceRecord rec;
  Die(hub->RegisterDevice(shop.id, "Bench till", &rec), "register");
  DeviceOptions o;
  o.open.synchronous = "OFF";
  o.pull_limit = limit;
  std::unique_ptr<Device> d;
  Die(Device::Open(dir + "/device.db", DeviceIdentity{rec.id, shop.id, rec.receipt_prefix, "EUR"}, o, &d), "open device");
  Caller caller = test_support::CallerOf(d.get());

  double hub_ms = 0, decode_ms = 0, device_ms = 0;
  double hub_cpu = 0, decode_cpu = 0, device_cpu = 0;
  size_t bytes = 0;
  int pages = 0;
  int64_t rows = 0;
  PullOutcome out;
  do {
    std::string body, answer;
    Die(d->BuildPull(&body), "build pull");
    double ca = CpuMillis();
    auto a = Clock::now();
    Die(hub->Pull(caller, body, &answer), "hub pull");
    auto b = Clock::now();
    double cb = CpuMillis();
    if (show_page && pages == 0) std::printf("first answer, its first 700 bytes: %.700s\n", answer.c_str());
    PullResponse decoded;
    Die(DecodePullResponse(answer, &decoded), "decode");
    auto c = Clock::now();
    double cc = CpuMillis();
    Die(d->HandlePullResponse(answer, &out), "apply");
    auto e = Clock::now();
    double ce = CpuMillis();
    hub_cpu += cb - ca;
    decode_cpu += cc - cb;
    device_cpu += ce - cc;
    hub_ms += Millis(b - a);
    decode_ms += Millis(c - b);
    device_ms += Millis(e - c);
    bytes += answer.size();
    rows += out.rows;
    ++pages;
  } while (out.more);
  Die(d->SyncSucceeded(), "sync succeeded");

  std::printf("pull %lld products: %d pages of %lld, %.1f MB (%.0f bytes/row); hub %.0f ms; device apply %.0f ms "
              "(of which decode alone %.0f ms); hub+device %.0f ms; checksum checked: %s\n",
              static_cast<long long>(rows), pages, static_cast<long long>(limit), double(bytes) / 1e6,
              rows ? double(bytes) / double(rows) : 0.0, hub_ms, device_ms, decode_ms, hub_ms + device_ms,
              out.checksum_checked ? "yes" : "no");
  std::printf("cpu time: hub %.0f ms; device apply %.0f ms (of which decode alone %.0f ms)\n", hub_cpu, device_cpu,
              decode_cpu);
  std::printf("(hub seeded in %.0f ms, not part of any figure)\n", seed_ms);
  d.reset();
  hub.reset();
  if (keep) std::printf("databases kept in %s\n", dir.c_str());
  else std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace tillsync

int main(int argc, char** argv) { return tillsync::Run(argc, argv); }
