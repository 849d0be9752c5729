#include "core/env.h"

#include <chrono>
#include <mutex>
#include <random>

namespace tillsync {
namespace {

class RealEnv : public Env {
 public:
  int64_t NowMillis() override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
  uint64_t Random64() override {
    // random_device is the OS source natively and crypto.getRandomValues under Emscripten.
    std::lock_guard<std::mutex> lock(mu_);
    return (uint64_t(device_()) << 32) ^ uint64_t(device_());
  }

 private:
  std::mutex mu_;
  std::random_device device_;
};

}  // namespace

Env* SystemEnv() {
  static Env* env = new RealEnv();  // never destroyed: may be used during static teardown
  return env;
}

uint64_t ManualEnv::Random64() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace tillsync
