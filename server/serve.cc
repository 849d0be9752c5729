#include "server/serve.h"

#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include "core/hub.h"
#include "core/sqlite_hub_store.h"  // the writer's store, tuned before Hub::Open
#include "server/auth_store.h"
#include "server/demo.h"
#include "server/http_api.h"
#include "server/hub_pool.h"
#include "server/instance_lock.h"
#include "server/push_committer.h"
#include "server/rate_limiter.h"
#include "server/static_files.h"
#include "server/wal_coalescing_vfs.h"
#include "server/wal_maintenance.h"

namespace tillsync::server {
namespace {

int Fail(const char* what, const Status& s) {
  std::fprintf(stderr, "tillsync-server: %s: %s\n", what, s.ToString().c_str());
  return 1;
}

}  // namespace

int Serve(const ServeOptions& o) {
  // Signals are taken by one thread with sigwait: block them before any thread starts, so every
  // thread inherits the mask and none is interrupted in the middle of a write.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the hub

  InstanceLock lock;
  Status s = lock.Acquire(o.db_path);
  if (!s.ok()) return Fail("cannot serve", s);

  std::unique_ptr<AuthStore> auth;
  s = AuthStore::Open(o.db_path, &auth);
  if (!s.ok()) return Fail("cannot open the credentials store", s);
  int64_t min_version = 1;
  std::string stored;
  bool found = false;
  s = auth->GetSetting("min_schema_version", &stored, &found);
  if (!s.ok()) return Fail("cannot read settings", s);
  if (found) {
    char* end = nullptr;
    long long v = std::strtoll(stored.c_str(), &end, 10);
    if (end == stored.c_str() || *end != '\0' || v < 1)
      return Fail("cannot read settings", Status(ErrorCode::kCorrupt, "min_schema_version is " + stored));
    min_version = v;
  }
  if (o.min_schema_version > 0) {
    min_version = o.min_schema_version;
    s = auth->PutSetting("min_schema_version", std::to_string(min_version));
    if (!s.ok()) return Fail("cannot store settings", s);
  }

  HubOptions hub_options;  // WAL, synchronous=FULL: a push is acknowledged only once durable
  hub_options.min_schema_version = min_version;
  // The writer's store is opened here, not by Hub::Open(path), so that its SQLite-specific
  // tuning stays with the process that owns the file and out of the sync logic: checkpoints
  // happen after a group is answered, not inside its commit (wal_maintenance.h), and a larger
  // page cache keeps the b-tree pages that every push touches (the _ts_rows index, the _hub_ops
  // and _hub_devices leaves) in memory. The store, and so the connection, then belongs to the
  // writer Hub, which the committer keeps for as long as `wal` is used.
  std::unique_ptr<SqliteHubStore> writer_store;
  // The writer gathers each commit's WAL frames into a few writes (wal_coalescing_vfs.h);
  // readers, the helper checkpointer and the credentials store use the default VFS.
  OpenOptions writer_open = hub_options.open;
  const char* coalescing_vfs = nullptr;
  s = WalCoalescingVfs::Register(&coalescing_vfs);
  if (!s.ok()) return Fail("cannot set up the hub database", s);
  writer_open.vfs = coalescing_vfs;
  s = SqliteHubStore::Open(o.db_path, writer_open, &writer_store);
  if (!s.ok()) return Fail("cannot open the hub database", s);
  s = writer_store->db()->Exec("PRAGMA cache_size=-65536");
  // Declared before everything that records into it, so it outlives them.
  static PushTimings timings;  // static: the detached threads below may outlive this frame
  auto wal = std::make_unique<WalMaintenance>(4000, &timings);
  if (s.ok()) s = wal->Attach(writer_store->db(), o.db_path);
  if (!s.ok()) return Fail("cannot tune the hub database", s);
  std::unique_ptr<Hub> writer;
  s = Hub::Open(std::move(writer_store), hub_options, &writer);
  if (!s.ok()) return Fail("cannot open the hub database", s);
  WalMaintenance* wal_ptr = wal.get();
  auto committer = std::make_unique<PushCommitter>(std::move(writer), o.max_group,
                                                   [wal_ptr](Hub*, bool waiting) { wal_ptr->AfterGroup(waiting); }, &timings);
  auto readers = std::make_unique<HubPool>(o.db_path, hub_options);

  if (o.demo) {
    DemoCredentials demo;
    s = EnsureDemo(committer.get(), auth.get(), &demo);
    if (!s.ok()) return Fail("cannot set up the demo shop", s);
    std::printf("demo shop: %s (%s)%s\n", demo.shop_name.c_str(), demo.shop_id.c_str(),
                demo.created_now ? ", created now with the demo catalog and stock" : "");
    std::printf("demo shop id: %s\n", demo.shop_id.c_str());
    std::printf("demo shop token: %s\n", demo.shop_token.c_str());
    std::printf("operator token: %s\n", demo.operator_token.c_str());
  } else {
    int64_t operators = 0;
    s = auth->CountValid(TokenKind::kOperator, &operators);
    if (!s.ok()) return Fail("cannot read credentials", s);
    if (operators == 0) {
      // A fresh hub needs one operator to provision shops. It is shown once; only its hash is
      // kept (lost: `tillsync-server rotate-token --operator --db ...`).
      std::string token;
      s = auth->Issue(TokenKind::kOperator, "", "", 0, &token);
      if (!s.ok()) return Fail("cannot issue the operator token", s);
      std::printf("operator token: %s\n", token.c_str());
    }
  }

  std::unique_ptr<StaticFiles> files;
  if (!o.static_dir.empty()) {
    files = std::make_unique<StaticFiles>(o.static_dir);
    if (!files->enabled()) {
      std::fprintf(stderr, "tillsync-server: --static %s is not a directory\n", o.static_dir.c_str());
      return 1;
    }
  }
  RateLimiter token_limiter(o.rate_per_s, o.rate_burst);
  RateLimiter address_limiter(o.address_rate_per_s, o.address_burst);

  ApiContext ctx;
  ctx.auth = auth.get();
  ctx.committer = committer.get();
  ctx.readers = readers.get();
  ctx.token_limiter = &token_limiter;
  ctx.address_limiter = &address_limiter;
  ctx.static_files = files.get();
  ctx.max_body_bytes = o.max_body_bytes;
  ctx.timings = &timings;
  ctx.wal = wal.get();
  HttpApi api(ctx);

  httplib::Server http;
  const int threads = o.threads > 0 ? o.threads : 256;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  http.set_read_timeout(o.read_timeout_ms / 1000, (o.read_timeout_ms % 1000) * 1000);
  http.set_write_timeout(o.write_timeout_ms / 1000, (o.write_timeout_ms % 1000) * 1000);
  http.set_keep_alive_timeout(o.keep_alive_s);
  http.set_keep_alive_max_count(100000);  // devices keep their connection; reconnecting costs more
  // Keep the listening socket's descriptor: the library listens with a backlog of 5, which drops
  // connection attempts when a whole shop floor reconnects at once (each drop costs the client a
  // 1 s SYN retry). listen() again on the bound socket raises the backlog (Linux allows it).
  int listen_fd = -1;
  http.set_socket_options([&listen_fd](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = sock;
  });
  // The library writes an answer's headers and body in separate sends; with Nagle's algorithm
  // the body then waits for the client's delayed ACK (40 ms on Linux) on every exchange.
  // Accepted sockets inherit TCP_NODELAY from the listening socket on Linux.
  http.set_tcp_nodelay(true);
  api.Install(&http);

  int port = o.port;
  if (port == 0) {
    port = http.bind_to_any_port(o.host);
    if (port < 0) {
      std::fprintf(stderr, "tillsync-server: cannot bind %s\n", o.host.c_str());
      return 1;
    }
  } else if (!http.bind_to_port(o.host, port)) {
    std::fprintf(stderr, "tillsync-server: cannot bind %s:%d (in use?)\n", o.host.c_str(), port);
    return 1;
  }
  if (listen_fd >= 0) ::listen(listen_fd, 1024);

  std::atomic<bool> stopping{false};
  std::atomic<bool> listen_returned{false};
  auto stop = [&](const char* why) {
    if (stopping.exchange(true)) return;
    std::fprintf(stderr, "tillsync-server: stopping (%s)\n", why);
    // httplib's stop() does nothing until listen_after_bind() has marked the server running, and
    // the "listening on" line is printed just before that call: a stop request arriving in that
    // gap would be lost. So wait for the server to run (or to have given up) first.
    while (!http.is_running() && !listen_returned.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    http.stop();
  };
  std::thread([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::thread([&stop, sig] { stop(sig == SIGINT ? "SIGINT" : "SIGTERM"); }).detach();
    // A second signal while the queue drains means "now": leave without waiting.
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr, "tillsync-server: second signal, exiting at once\n");
    _exit(1);
  }).detach();
  if (o.exit_with_stdin) {
    std::thread([&] {
      char buf[256];
      while (true) {
        ssize_t n = ::read(0, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR)) break;
      }
      stop("stdin closed");
    }).detach();
  }
  if (o.idle_exit_s > 0) {
    std::thread([&] {
      while (!stopping.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
        if (now - api.last_activity_ms() > int64_t(o.idle_exit_s) * 1000) stop("idle timeout");
      }
    }).detach();
  }

  std::printf("listening on http://%s:%d\n", o.host.c_str(), port);
  std::fflush(stdout);
  bool ok = http.listen_after_bind();  // returns after its worker threads have finished
  listen_returned.store(true);
  bool asked = stopping.exchange(true);
  // The HTTP side is down (no new pushes); answer what is queued, then close every connection
  // to the database cleanly (the last close checkpoints the WAL).
  committer->Stop();
  committer.reset();
  wal.reset();
  readers.reset();
  auth.reset();
  std::fprintf(stderr, "tillsync-server: stopped\n");
  std::fflush(stdout);
  std::fflush(stderr);
  // The detached watcher threads reference this frame; leave without unwinding it under them.
  _exit(ok || asked ? 0 : 1);
}

}  // namespace tillsync::server
