// StaticFiles: serves the PWA (the directory given by --static, normally web/dist) so that one
// process on one port is the whole product. GET and HEAD only.
//
//   /                      -> index.html
//   /path/file.ext         -> that file, if it is a regular file inside the root
//   /some/app/route        -> index.html (no extension: a client-side route of the app)
//
// Paths are decoded by the HTTP library; any segment that is empty, "." or ".." (or holds a NUL
// or a backslash) is refused, and the resolved real path must still lie under the root, so
// neither "../" nor a symlink reads outside it. MIME types are explicit (application/wasm
// matters: browsers refuse to stream-compile wasm served as anything else). index.html and sw.js
// are served with Cache-Control: no-cache, so an update reaches the browser on its next load
// (the service worker itself decides what works offline); every file carries an ETag and a
// matching If-None-Match gets 304.
//
// Threading: immutable after construction; thread-safe. Files are read per request (no cache):
// the PWA is small, and a rebuilt web/dist is served without a restart.
#pragma once

#include <string>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace tillsync::server {

class StaticFiles {
 public:
  // `root` must be an existing directory; empty disables serving (every path is 404).
  explicit StaticFiles(std::string root);

  bool enabled() const { return !root_.empty(); }
  // Fills `res` for a GET or HEAD of `req.path`. Returns false when nothing is served there
  // (the caller answers 404 problem+json).
  bool Serve(const httplib::Request& req, httplib::Response& res) const;

  // "application/wasm" for "wasm", ...; "application/octet-stream" for unknown extensions.
  static const char* MimeType(const std::string& extension);

 private:
  std::string root_;  // real path, no trailing slash
};

}  // namespace tillsync::server
