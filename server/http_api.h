// HttpApi: the hub's HTTP surface under /v1, as one router table. Each row of the table names a
// method, a path, who may call it (Access) and its handler; the same table registers the routes
// with cpp-httplib and is printed by `tillsync-server routes`, so a test can walk every route
// and none can be added without the walk seeing it. schema/protocol.md "## HTTP API" documents
// every row: keep the two in step.
//
// Every request passes, in order:
//   1. transport limits, before the body is read (pre-routing): a POST must carry
//      Content-Length (chunked bodies are refused, 411), no Content-Encoding (a gzip bomb would
//      bypass the size check, 415), and Content-Length at most max_body_bytes (413, and the
//      connection is closed without reading the body);
//   2. authentication: "Authorization: Bearer <token>"; the token's row gives the role, shop
//      and device (401 unknown/revoked/expired, 403 wrong role); the shop and device a handler
//      acts for come from there and never from the body;
//   3. the rate limit of the token (or of the client address for unauthenticated routes), 429
//      with Retry-After;
//   4. the handler, whose refusals are problem+json (problem.h).
// A refusal never says whether a thing of another shop exists: "not yours" and "no such thing"
// are the same 404.
//
// Ownership: borrows everything in ApiContext (owned by serve.cc), which must outlive the HTTP
// server. Threading: handlers run on cpp-httplib's worker threads; everything they touch is
// thread-safe (AuthStore and RateLimiter lock, writes go through PushCommitter, reads lease a
// Hub from HubPool).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "server/auth_store.h"
#include "server/hub_pool.h"
#include "server/push_committer.h"
#include "server/rate_limiter.h"
#include "server/static_files.h"
#include "server/wal_maintenance.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace tillsync::server {

enum class Access {
  kPublic,        // no credentials
  kRecoveryCode,  // no bearer token; the body carries a recovery code
  kOperator,      // operator token
  kShop,          // shop token
  kDevice,        // device token
  kShopOrDevice,  // shop or device token
  kAnyToken,      // operator, shop or device token (what it may do depends on which)
};
const char* AccessName(Access access);

struct RouteInfo {
  const char* method;
  const char* path;
  Access access;
  const char* summary;
};

// The router table, in registration order. The last row is the static-file fallback.
std::vector<RouteInfo> RouteTable();
// The table as JSON: [{"method","path","access","summary"}...] (`tillsync-server routes`).
std::string RouteTableJson();

struct ApiContext {
  AuthStore* auth = nullptr;
  PushCommitter* committer = nullptr;
  HubPool* readers = nullptr;
  RateLimiter* token_limiter = nullptr;    // per authenticated token
  RateLimiter* address_limiter = nullptr;  // per client address: recovery and failed logins
  const StaticFiles* static_files = nullptr;
  size_t max_body_bytes = 4 << 20;
  PushTimings* timings = nullptr;  // push-path histograms (push_timings.h); none if null
  const WalMaintenance* wal = nullptr;  // the writer's WAL figures for /admin/stats; none if null
};

class HttpApi {
 public:
  explicit HttpApi(ApiContext ctx) : ctx_(ctx) {}
  void Install(httplib::Server* server);
  // Steady-clock milliseconds of the latest request (for --idle-exit-seconds).
  int64_t last_activity_ms() const { return last_activity_ms_.load(); }

 private:
  using Handler = void (HttpApi::*)(const httplib::Request&, const Principal&, httplib::Response&);
  struct Route {
    RouteInfo info;
    Handler handler;
  };
  static const std::vector<Route>& Routes();
  friend std::vector<RouteInfo> RouteTable();

  static void NoRoute(const httplib::Request& req, httplib::Response& res);
  void Dispatch(const Route& route, const httplib::Request& req, httplib::Response& res);
  void Touch();

  void Health(const httplib::Request& req, const Principal& who, httplib::Response& res);
  void Push(const httplib::Request& req, const Principal& who, httplib::Response& res);
  void Pull(const httplib::Request& req, const Principal& who, httplib::Response& res);
  void CreateShop(const httplib::Request& req, const Principal& who, httplib::Response& res);
  void GetShop(const httplib::Request& req, const Principal& who, httplib::Response& res);
  void RegisterDevice(const httplib::Request& req, const Principal& who, httplib::Response& res);
  void Recover(const httplib::Request& req, const Principal& who, httplib::Response& res);
  void Revoke(const httplib::Request& req, const Principal& who, httplib::Response& res);
  void AdminCatalog(const httplib::Request& req, const Principal& who, httplib::Response& res);
  void AdminMinSchema(const httplib::Request& req, const Principal& who, httplib::Response& res);
  void AdminStats(const httplib::Request& req, const Principal& who, httplib::Response& res);
  void AdminShops(const httplib::Request& req, const Principal& who, httplib::Response& res);
  void Static(const httplib::Request& req, const Principal& who, httplib::Response& res);

  ApiContext ctx_;
  std::atomic<int64_t> last_activity_ms_{0};
};

}  // namespace tillsync::server
