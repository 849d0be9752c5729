// Status: the one error value of the core. Every fallible core call returns a Status (or
// StatusOr-like pair through an out-parameter); the core never throws. A Status carries a stable
// machine code (ErrorCode, whose string name is part of the public contract: the Embind edge turns
// it into {code, message}, the HTTP edge into a problem+json `code`) and a human message.
// Optional `detail` is a JSON object text with structured extras (for example the minimum schema
// version of an update_required answer). Value type; no ownership; thread-compatible.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace tillsync {

// Stable codes. Never renumber or rename: the names travel over the wire and into UIs.
enum class ErrorCode {
  kOk = 0,
  // Malformed or invalid input.
  kBadJson,          // not parseable JSON
  kBadRequest,       // structurally wrong: missing field, wrong type, unknown field
  kBadVersion,       // protocol version not understood
  kUnknownTable,
  kUnknownColumn,
  kBadId,            // an id that is empty, too long, or holds characters outside [A-Za-z0-9_.:-]
  kBadValue,         // a value of the right type but outside its allowed set or length
  kFloatMoney,       // money given as a non-integer number
  kBadQuantity,      // zero, negative where not allowed, or absurd quantities
  kBadAmount,        // negative or absurd money amounts
  kTotalsMismatch,   // sale totals that do not add up
  kMissingField,     // a column that a new row requires
  kImmutable,        // an attempt to change what the table's merge rule never changes
  kStatusRegression, // a sale status moved backwards
  kShopMismatch,     // a row claims a shop or device other than the caller's
  kSequenceGap,      // pushed operations do not continue the device's sequence
  kPayloadMismatch,  // an operation id replayed with a different payload
  kClockSkew,        // an operation stamped too far in the future of the hub's clock
  kTooLarge,         // batch or page larger than allowed
  kUpdateRequired,   // the peer's schema version is below what is required
  kSchemaTooNew,     // the database was written by a newer version of tillsync
  kNotFound,
  kUnauthorized,
  kForbidden,
  kConflict,
  kStorageFull,
  kIoError,
  kCorrupt,
  kBusy,
  kNotOpen,
  kInternal,
};

// The stable string name of a code, e.g. "totals_mismatch".
const char* ErrorCodeName(ErrorCode code);
// The code with that name; kInternal for names this build does not know.
ErrorCode ErrorCodeFromName(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message, std::string detail = {})
      : code_(code), message_(std::move(message)), detail_(std::move(detail)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const char* code_name() const { return ErrorCodeName(code_); }
  const std::string& message() const { return message_; }
  const std::string& detail() const { return detail_; }
  // "code: message", for logs and test failure output.
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::string detail_;
};

// A Status whose message is `message_parts` joined. Built out of line: an error path's
// `"text " + id + " more"` inlines an append per "+" at the wasm build's -O2 (libc++'s string
// members are compiled into the engine there, CMakeLists.txt), and every refusal site paid those
// bytes in the .wasm for text that is almost never built.
Status ErrorWithMessage(ErrorCode code, std::initializer_list<std::string_view> message_parts);

}  // namespace tillsync

// Early return on error, LevelDB style.
#define TS_RETURN_IF_ERROR(expr)               \
  do {                                         \
    ::tillsync::Status ts_status_ = (expr);    \
    if (!ts_status_.ok()) return ts_status_;   \
  } while (0)
