#include "core/status.h"

namespace tillsync {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kBadJson: return "bad_json";
    case ErrorCode::kBadRequest: return "bad_request";
    case ErrorCode::kBadVersion: return "bad_version";
    case ErrorCode::kUnknownTable: return "unknown_table";
    case ErrorCode::kUnknownColumn: return "unknown_column";
    case ErrorCode::kBadId: return "bad_id";
    case ErrorCode::kBadValue: return "bad_value";
    case ErrorCode::kFloatMoney: return "float_money";
    case ErrorCode::kBadQuantity: return "bad_quantity";
    case ErrorCode::kBadAmount: return "bad_amount";
    case ErrorCode::kTotalsMismatch: return "totals_mismatch";
    case ErrorCode::kMissingField: return "missing_field";
    case ErrorCode::kImmutable: return "immutable";
    case ErrorCode::kStatusRegression: return "status_regression";
    case ErrorCode::kShopMismatch: return "shop_mismatch";
    case ErrorCode::kSequenceGap: return "sequence_gap";
    case ErrorCode::kPayloadMismatch: return "payload_mismatch";
    case ErrorCode::kClockSkew: return "clock_skew";
    case ErrorCode::kTooLarge: return "too_large";
    case ErrorCode::kUpdateRequired: return "update_required";
    case ErrorCode::kSchemaTooNew: return "schema_too_new";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kUnauthorized: return "unauthorized";
    case ErrorCode::kForbidden: return "forbidden";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kStorageFull: return "storage_full";
    case ErrorCode::kIoError: return "io_error";
    case ErrorCode::kCorrupt: return "corrupt";
    case ErrorCode::kBusy: return "busy";
    case ErrorCode::kNotOpen: return "not_open";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

ErrorCode ErrorCodeFromName(std::string_view name) {
  for (int i = 0; i <= int(ErrorCode::kInternal); ++i)
    if (name == ErrorCodeName(ErrorCode(i))) return ErrorCode(i);
  return ErrorCode::kInternal;
}

Status ErrorWithMessage(ErrorCode code, std::initializer_list<std::string_view> message_parts) {
  std::string message;
  for (std::string_view part : message_parts) message += part;
  return Status(code, std::move(message));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(code_name()) + ": " + message_;
}

}  // namespace tillsync
