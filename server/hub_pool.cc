#include "server/hub_pool.h"

namespace tillsync::server {

HubPool::HubPool(std::string path, HubOptions options)
    : path_(std::move(path)), options_(std::move(options)), min_schema_version_(options_.min_schema_version) {}

HubPool::Lease::~Lease() {
  if (pool_ != nullptr && hub_ != nullptr) pool_->Release(std::move(hub_));
}

Status HubPool::Acquire(Lease* out) {
  std::unique_ptr<Hub> hub;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_.empty()) {
      hub = std::move(free_.back());
      free_.pop_back();
    }
  }
  if (hub == nullptr) {
    // Opened outside the lock: opening reads the schema and must not serialise other leases.
    TS_RETURN_IF_ERROR(Hub::Open(path_, options_, &hub));
    ++opened_;
  }
  hub->set_min_schema_version(min_schema_version_.load());
  out->pool_ = this;
  out->hub_ = std::move(hub);
  return Status::Ok();
}

void HubPool::Release(std::unique_ptr<Hub> hub) {
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(std::move(hub));
}

}  // namespace tillsync::server
