#include "server/answer_gzip.h"

#include <zlib.h>

#include <cctype>

namespace tillsync::server {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// True for a q parameter value that means "not acceptable" ("0", "0.0", "0.000").
bool IsZeroQuality(std::string_view q) {
  if (q.empty() || q[0] != '0') return false;
  q.remove_prefix(1);
  if (q.empty()) return true;
  if (q[0] != '.') return false;
  for (char c : q.substr(1))
    if (c != '0') return false;
  return true;
}

}  // namespace

bool AcceptsGzip(std::string_view accept_encoding) {
  size_t start = 0;
  while (start <= accept_encoding.size()) {
    size_t end = accept_encoding.find(',', start);
    if (end == std::string_view::npos) end = accept_encoding.size();
    std::string_view item = accept_encoding.substr(start, end - start);
    start = end + 1;
    size_t semi = item.find(';');
    if (!EqualsNoCase(Trim(item.substr(0, semi)), "gzip")) continue;
    bool refused = false;
    while (semi != std::string_view::npos) {
      size_t next = item.find(';', semi + 1);
      std::string_view param = Trim(item.substr(semi + 1, next == std::string_view::npos ? std::string_view::npos : next - semi - 1));
      if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=')
        refused = IsZeroQuality(Trim(param.substr(2)));
      semi = next;
    }
    if (!refused) return true;
  }
  return false;
}

bool GzipBytes(std::string_view body, int level, std::string* out) {
  if (body.size() > (1u << 30)) return false;  // zlib counts in 32 bits; no answer comes near this
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer around the deflate stream; memLevel 8 is zlib's
  // default.
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  out->resize(deflateBound(&z, uLong(body.size())));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  z.avail_in = uInt(body.size());
  z.next_out = reinterpret_cast<Bytef*>(out->data());
  z.avail_out = uInt(out->size());
  int rc = deflate(&z, Z_FINISH);  // one call: deflateBound leaves room for all of it
  const size_t written = out->size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return false;
  out->resize(written);
  return true;
}

}  // namespace tillsync::server
