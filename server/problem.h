// Problem: the one place where a core Status becomes an HTTP answer. Every refusal the hub makes
// is an RFC 9457 (was 7807) problem+json body:
//
//   {"type":"urn:tillsync:problem:<code>", "title":"...", "status":<http>, "code":"<code>",
//    "detail":"<human message>", ...extension members}
//
// `code` is the core's stable ErrorCodeName (clients branch on it, never on `title` or
// `detail`). The Status's JSON detail object (for example {"min_schema_version":3}) is merged in
// as extension members. Messages of internal failures (SQLite text, file paths) are replaced by
// a generic sentence: the full text goes to the server log, never to the client. No token is
// ever part of a Status message, so none can be echoed.
//
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "core/status.h"

namespace tillsync::server {

struct Problem {
  int http_status = 500;
  std::string body;  // application/problem+json
  // Seconds for a Retry-After header; 0: none.
  int retry_after_s = 0;
};

constexpr const char* kProblemContentType = "application/problem+json";

// The HTTP status that fits a code (see the table in schema/protocol.md, "## HTTP API").
int HttpStatusFor(ErrorCode code);

// Builds the answer for a refusal. `http_status` 0 takes HttpStatusFor(s.code()); a caller
// passes another status only where HTTP has a more precise word for the same code (411, 415,
// 405, 429, 413 from the transport).
Problem MakeProblem(const Status& s, int http_status = 0);

// True for codes whose message may hold internals and is therefore not shown to the client.
bool IsInternal(ErrorCode code);

}  // namespace tillsync::server
