// Protocol: the versioned JSON messages between a device and the hub (push and pull), with
// encoders and validating decoders for both directions. The grammar, field by field, and the
// correctness checklist are in schema/protocol.md; keep the two in step. Decoders accept only
// what the grammar allows: unknown fields, wrong types, out-of-range values are errors with
// stable codes, and nothing is applied from a message that fails to decode.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_reader.h"
#include "core/operation.h"
#include "core/status.h"

namespace tillsync {

constexpr int kProtocolVersion = 1;
constexpr size_t kMaxOpsPerPush = 500;
constexpr int64_t kDefaultPullLimit = 1000;
constexpr int64_t kMaxPullLimit = 5000;

struct PushRequest {
  std::string device_id;
  int64_t schema_version = 0;
  std::vector<Operation> ops;  // consecutive seqs, oldest first
};

enum class OpStatus { kApplied, kRejected, kConflict };
const char* OpStatusName(OpStatus s);

// A row as the hub holds it: what a pull delivers and what a conflict answer shows.
struct WireRow {
  std::string table;
  std::string id;
  Json values = Json::object();
  Json clocks = Json::object();
  int64_t version = 0;
  int64_t seq = 0;
};

struct OpResult {
  int64_t seq = 0;
  OpStatus status = OpStatus::kApplied;
  std::string code;     // rejected: the stable error code
  std::string message;  // rejected: why, for a person
  std::vector<WireRow> current;  // conflict: the hub's rows that the stale write met
};

struct PushResponse {
  std::vector<OpResult> results;
  std::string hub_hlc;
};

struct PullRequest {
  std::string device_id;
  int64_t schema_version = 0;
  int64_t cursor = 0;
  int64_t limit = kDefaultPullLimit;
};

struct PullResponse {
  std::vector<WireRow> rows;
  int64_t cursor = 0;     // pass back in the next pull
  bool more = false;      // another page is ready now
  int64_t remaining = 0;  // rows after this page (for progress bars)
  // Sum of row hashes of everything the shop can see, as 16 hex digits. Present only on the last
  // page (more == false), where the device's replica should equal it once its outbox is empty.
  std::string checksum;
  std::string hub_hlc;
};

std::string EncodePushRequest(const PushRequest& r);
Status DecodePushRequest(std::string_view body, PushRequest* out);
std::string EncodePushResponse(const PushResponse& r);
Status DecodePushResponse(std::string_view body, PushResponse* out);
std::string EncodePullRequest(const PullRequest& r);
Status DecodePullRequest(std::string_view body, PullRequest* out);
std::string EncodePullResponse(const PullResponse& r);
Status DecodePullResponse(std::string_view body, PullResponse* out);

std::string ChecksumHex(uint64_t sum);

}  // namespace tillsync
