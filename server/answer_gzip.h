// Answer compression: the hub gzips its JSON answers itself, at a fast zlib level, instead of
// leaving it to cpp-httplib, which compresses at zlib's default level (6) and has no setting for
// it.
//
// Why: in a first download the device applies one pull page while the hub builds the next
// (worker/owner.js prefetches), so the hub's time per page is on the download's critical path
// whenever it is longer than the device's. A 5,000-product page (420 to 500 KB of JSON) took 6 to
// 12 ms to compress at level 6 against 1 to 3 ms at level 2, and came out at most 10 % larger at
// level 2 (2.5 % smaller for products without barcodes); bench/README.md, session 6 "pull".
//
// How it stays out of the library's way: Debian's compiled cpp-httplib compresses an answer only
// when its Content-Type is exactly one of a few types ("application/json" among them), so an
// answer compressed here is labelled "application/json; charset=utf-8" (equally correct: JSON is
// UTF-8) and carries its own Content-Encoding and Vary headers.
//
// Threading: free functions without state; safe on any HTTP thread.
#pragma once

#include <string>
#include <string_view>

namespace tillsync::server {

// The zlib level of the hub's gzip answers (see above).
constexpr int kAnswerGzipLevel = 2;

// True when an Accept-Encoding header value accepts gzip: a "gzip" token whose q is not 0.
bool AcceptsGzip(std::string_view accept_encoding);

// The gzip stream (RFC 1952) of `body` at zlib `level` into *out. False on a zlib failure, *out
// then unspecified (the caller sends the body uncompressed).
bool GzipBytes(std::string_view body, int level, std::string* out);

}  // namespace tillsync::server
