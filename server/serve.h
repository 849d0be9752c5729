// Serve: the `tillsync-server serve` process. Wires the parts together and owns them for the
// life of the process:
//
//   InstanceLock (one server per database file)
//   writer Hub -> PushCommitter (group commit; the one writer thread)
//   HubPool (reader Hubs for pulls and statistics)
//   AuthStore (tokens, settings), RateLimiters, StaticFiles
//   HttpApi -> cpp-httplib Server (worker thread pool, timeouts, limits)
//
// Startup prints, on stdout and flushed, the credentials it created (an operator token on a
// fresh database; the demo credentials with --demo) and then exactly one line
//   listening on http://HOST:PORT
// which tests and scripts wait for (with --port 0 the kernel picks the port).
//
// It stops cleanly on SIGINT or SIGTERM, when stdin reaches end-of-file (--exit-with-stdin: a
// test harness that dies closes the pipe, so no orphan server outlives it) and after
// --idle-exit-seconds without a request. Stopping finishes the pushes already queued, so every
// answer that was sent stays true. SIGKILL is safe too: an answer is only sent after its commit.
//
// Threading: Serve() runs on the main thread and blocks until the server stops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tillsync::server {

struct ServeOptions {
  std::string db_path;
  std::string host = "127.0.0.1";
  int port = 8080;                  // 0: any free port
  std::string static_dir;           // empty: no static files
  bool demo = false;
  int64_t min_schema_version = 0;   // 0: keep the stored setting (default 1)
  int threads = 256;                // HTTP worker threads (each keep-alive connection holds one)
  double rate_per_s = 100;          // per token; 0 disables
  double rate_burst = 200;
  double address_rate_per_s = 5;    // per client address on recovery / failed credentials
  double address_burst = 30;
  size_t max_body_bytes = 4u << 20;
  int read_timeout_ms = 5000;       // a client silent this long mid-request is dropped
  int write_timeout_ms = 5000;
  int keep_alive_s = 5;             // an idle keep-alive connection is closed after this
  int idle_exit_s = 0;              // 0: never
  bool exit_with_stdin = false;
  size_t max_group = 512;           // pushes per group commit
};

// Returns the process exit code.
int Serve(const ServeOptions& options);

}  // namespace tillsync::server
