#include "server/static_files.h"

#include <httplib.h>
#include <sys/stat.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tillsync::server {
namespace {

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return std::string();
  return buf;
}

bool SafeRelative(const std::string& path) {
  // path starts with '/'; check every segment.
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string seg = path.substr(i, j - i);
    if (j < path.size() && seg.empty()) return false;  // "//"
    if (seg == "." || seg == "..") return false;
    if (seg.find('\0') != std::string::npos || seg.find('\\') != std::string::npos) return false;
    i = j + 1;
  }
  return true;
}

std::string Extension(const std::string& path) {
  size_t slash = path.rfind('/');
  size_t dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return std::string();
  return path.substr(dot + 1);
}

}  // namespace

StaticFiles::StaticFiles(std::string root) {
  if (!root.empty()) root_ = RealPath(root);
}

const char* StaticFiles::MimeType(const std::string& ext) {
  struct Entry {
    const char* ext;
    const char* type;
  };
  static const Entry kTypes[] = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"webmanifest", "application/manifest+json"},
      {"wasm", "application/wasm"},
      {"png", "image/png"},
      {"svg", "image/svg+xml"},
      {"ico", "image/x-icon"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"webp", "image/webp"},
      {"woff2", "font/woff2"},
      {"txt", "text/plain; charset=utf-8"},
  };
  for (const Entry& e : kTypes)
    if (ext == e.ext) return e.type;
  return "application/octet-stream";
}

bool StaticFiles::Serve(const httplib::Request& req, httplib::Response& res) const {
  if (root_.empty()) return false;
  std::string path = req.path;
  if (path.empty() || path[0] != '/' || !SafeRelative(path)) return false;
  if (path == "/") path = "/index.html";
  // An app route (no extension in the last segment) gets the app shell.
  if (Extension(path).empty()) path = "/index.html";
  std::string full = RealPath(root_ + path);
  if (full.empty() || full.compare(0, root_.size() + 1, root_ + "/") != 0) return false;
  struct stat st;
  if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;

  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx\"", static_cast<unsigned long long>(st.st_size),
                static_cast<unsigned long long>(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec));
  std::string ext = Extension(full);
  res.set_header("ETag", etag);
  // index.html and sw.js decide which version of the app a browser runs, so they must always be
  // revalidated. The other files are revalidated too (cheap with the ETag): their names are not
  // content-hashed, so a cached old wasm next to a new index.html would be a broken app.
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
  if (req.get_header_value("If-None-Match") == etag) {
    res.status = 304;
    return true;
  }
  std::ifstream in(full, std::ios::binary);
  if (!in) return false;
  std::ostringstream data;
  data << in.rdbuf();
  res.status = 200;
  res.set_content(data.str(), MimeType(ext));
  return true;
}

}  // namespace tillsync::server
