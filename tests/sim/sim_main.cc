// tillsync_sim: runs the deterministic simulation over a range of seeds and prints one line per
// failing seed (with the command that replays it) and a closing "N passed, M failed" line.
//   tillsync_sim --seeds 1-200 --ops 2000        (what CI runs)
//   tillsync_sim --seeds 1-5000 --ops 3000       (a long soak, by hand)
//   tillsync_sim --seeds 42 --ops 2000 --verbose (replay one seed with its event trace)
// Seeds run on --jobs threads (default: every core); each simulation is independent.
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <algorithm>

#include "tests/sim/simulation.h"

int main(int argc, char** argv) {
  uint64_t first = 1, last = 20;
  tillsync::SimOptions base;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--seeds") {
      std::string v = next();
      size_t dash = v.find('-');
      first = std::strtoull(v.c_str(), nullptr, 10);
      last = dash == std::string::npos ? first : std::strtoull(v.c_str() + dash + 1, nullptr, 10);
    } else if (arg == "--ops") {
      base.ops = std::atoi(next().c_str());
    } else if (arg == "--shops") {
      base.shops = std::atoi(next().c_str());
    } else if (arg == "--devices") {
      base.devices_per_shop = std::atoi(next().c_str());
    } else if (arg == "--verbose") {
      base.verbose = true;
      jobs = 1;
    } else if (arg == "--jobs") {
      jobs = unsigned(std::max(1, std::atoi(next().c_str())));
    } else {
      std::fprintf(stderr, "usage: tillsync_sim [--seeds A-B] [--ops N] [--shops N] [--devices N] [--verbose]\n");
      return 2;
    }
  }
  auto start = std::chrono::steady_clock::now();
  std::atomic<int> passed{0}, failed{0};
  std::atomic<uint64_t> next_seed{first};
  std::mutex print_mu;
  auto worker = [&]() {
    for (uint64_t seed = next_seed++; seed <= last; seed = next_seed++) {
      tillsync::SimOptions o = base;
      o.seed = seed;
      tillsync::SimReport r = tillsync::RunSimulation(o);
      std::lock_guard<std::mutex> lock(print_mu);
      if (r.ok) {
        ++passed;
        if (base.verbose || seed == first) std::printf("seed %llu ok: %s\n", (unsigned long long)seed, r.Summary().c_str());
      } else {
        ++failed;
        std::printf("seed %llu FAILED: %s\n", (unsigned long long)seed, r.Summary().c_str());
        for (const std::string& f : r.failures) std::printf("    %s\n", f.c_str());
        std::printf("    replay: tillsync_sim --seeds %llu --ops %d --verbose\n", (unsigned long long)seed, o.ops);
      }
      std::fflush(stdout);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 0; j < jobs; ++j) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("simulation: seeds %llu-%llu, %d operations each, %.1f s\n", (unsigned long long)first,
              (unsigned long long)last, base.ops, secs);
  std::printf("%d passed, %d failed\n", passed.load(), failed.load());
  return failed == 0 ? 0 : 1;
}
