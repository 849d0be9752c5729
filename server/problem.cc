#include "server/problem.h"

#include <cstdio>

#include "core/json_reader.h"

namespace tillsync::server {

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 200;
    case ErrorCode::kBadJson:
    case ErrorCode::kBadRequest:
    case ErrorCode::kBadVersion:
    case ErrorCode::kUnknownTable:
    case ErrorCode::kUnknownColumn:
    case ErrorCode::kBadId:
    case ErrorCode::kBadValue:
    case ErrorCode::kFloatMoney:
    case ErrorCode::kBadQuantity:
    case ErrorCode::kBadAmount:
    case ErrorCode::kTotalsMismatch:
    case ErrorCode::kMissingField:
    case ErrorCode::kClockSkew: return 400;
    case ErrorCode::kUnauthorized: return 401;
    case ErrorCode::kForbidden:
    case ErrorCode::kShopMismatch: return 403;
    case ErrorCode::kNotFound: return 404;
    // The request is well formed but collides with what the hub already holds.
    case ErrorCode::kImmutable:
    case ErrorCode::kStatusRegression:
    case ErrorCode::kSequenceGap:
    case ErrorCode::kPayloadMismatch:
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kTooLarge: return 413;
    // 426 is "the client must upgrade"; the body names the minimum schema version.
    case ErrorCode::kUpdateRequired: return 426;
    case ErrorCode::kBusy:
    case ErrorCode::kNotOpen: return 503;
    case ErrorCode::kStorageFull: return 507;
    case ErrorCode::kSchemaTooNew:
    case ErrorCode::kIoError:
    case ErrorCode::kCorrupt:
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

bool IsInternal(ErrorCode code) {
  switch (code) {
    case ErrorCode::kIoError:
    case ErrorCode::kCorrupt:
    case ErrorCode::kInternal:
    case ErrorCode::kSchemaTooNew:
    case ErrorCode::kNotOpen:
    case ErrorCode::kStorageFull:
      return true;
    default:
      return false;
  }
}

namespace {

const char* TitleFor(int http_status) {
  switch (http_status) {
    case 400: return "Bad request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 409: return "Conflict";
    case 411: return "Length required";
    case 413: return "Payload too large";
    case 415: return "Unsupported media type";
    case 426: return "Update required";
    case 429: return "Too many requests";
    case 503: return "Service unavailable";
    case 507: return "Insufficient storage";
    default: return "Internal error";
  }
}

}  // namespace

Problem MakeProblem(const Status& s, int http_status) {
  Problem p;
  p.http_status = http_status != 0 ? http_status : HttpStatusFor(s.code());
  if (p.http_status < 400) p.http_status = 500;  // an ok Status is never a problem
  const char* code = s.ok() ? ErrorCodeName(ErrorCode::kInternal) : s.code_name();
  Json body = Json::object();
  // Extension members first, so the standard members below always win a name clash.
  Json extra;
  if (!s.detail().empty() && ParseJson(s.detail(), &extra).ok() && extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) body[it.key()] = *it;
  body["type"] = std::string("urn:tillsync:problem:") + code;
  body["title"] = TitleFor(p.http_status);
  body["status"] = p.http_status;
  body["code"] = code;
  body["detail"] = IsInternal(s.code()) || s.ok()
                       ? std::string("the hub could not complete the request; it has been logged")
                       : s.message();
  if (p.http_status == 503) p.retry_after_s = 1;
  p.body = DumpJson(body);
  return p;
}

}  // namespace tillsync::server
