#include "server/http_api.h"

#include <httplib.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>

#include "core/json_reader.h"
#include "core/migrations.h"
#include "core/protocol.h"
#include "core/table_spec.h"
#include "server/answer_gzip.h"
#include "server/problem.h"
#include "server/wal_coalescing_vfs.h"

namespace tillsync::server {
namespace {

// Debian's cpp-httplib is built with brotli and picks it whenever the client accepts "br" (every
// Chromium does), at brotli's default quality 11: compressing one 355 KB pull page took 0.9 to
// 3.8 s instead of 30 to 130 ms with gzip, on every answer. Its feature macros are fixed by the
// compiled library (changing them breaks the ABI), and it reads the request's Accept-Encoding
// when it compresses the answer (before any post-routing hook); so "br" is taken out of that
// header here, before routing, and the library falls back to gzip (zlib's default level). The
// Request is a non-const object owned by the library's connection loop; handlers only see it
// through a const reference, hence the const_cast.
void PreferGzipOverBrotli(const httplib::Request& req) {
  auto& headers = const_cast<httplib::Headers&>(req.headers);
  auto it = headers.find("Accept-Encoding");
  if (it == headers.end() || it->second.find("br") == std::string::npos) return;
  std::string kept;
  size_t start = 0;
  while (start <= it->second.size()) {
    size_t end = it->second.find(',', start);
    if (end == std::string::npos) end = it->second.size();
    std::string token = it->second.substr(start, end - start);
    size_t first = token.find_first_not_of(' ');
    if (first != std::string::npos) {
      std::string name = token.substr(first, token.find_first_of(" ;", first) - first);
      if (name != "br") kept += (kept.empty() ? "" : ", ") + token.substr(first);
    }
    start = end + 1;
  }
  it->second = kept;
}

using httplib::Request;
using httplib::Response;

constexpr size_t kMaxAdminChanges = 1000;
constexpr int64_t kMaxMinSchemaVersion = 1000000;

void SendJson(Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

// Every JSON answer is compressed here when the client accepts gzip, at kAnswerGzipLevel, rather
// than by the library at its fixed level 6, and is labelled so that the library leaves it alone
// either way (server/answer_gzip.h; the library would also gzip for "gzip;q=0"). Problem answers
// are not JSON to the library and stay uncompressed.
void CompressJsonAnswer(const Request& req, Response& res) {
  if (res.get_header_value("Content-Type") != "application/json") return;
  res.headers.erase("Content-Type");
  res.set_header("Content-Type", "application/json; charset=utf-8");
  res.set_header("Vary", "Accept-Encoding");
  if (res.body.empty() || !AcceptsGzip(req.get_header_value("Accept-Encoding"))) return;
  std::string gz;
  if (!GzipBytes(res.body, kAnswerGzipLevel, &gz)) return;  // sent as it is
  res.body.swap(gz);
  res.set_header("Content-Encoding", "gzip");
}

void SendProblem(Response& res, const Status& s, int http_status = 0) {
  Problem p = MakeProblem(s, http_status);
  // The client sees a generic sentence for internal failures; the operator's log gets it all.
  if (p.http_status >= 500) std::fprintf(stderr, "tillsync-server: %d %s\n", p.http_status, s.ToString().c_str());
  res.status = p.http_status;
  if (p.retry_after_s > 0) res.set_header("Retry-After", std::to_string(p.retry_after_s));
  res.set_content(p.body, kProblemContentType);
}

void SendRateLimited(Response& res, int retry_after_s) {
  SendProblem(res, Status(ErrorCode::kBusy, "too many requests; retry after " + std::to_string(retry_after_s) + " s"),
              429);
  res.set_header("Retry-After", std::to_string(retry_after_s));
}

// A refusal made before the body was read. The unread body is still in the socket, and
// cpp-httplib would go on to parse it as the next request on the keep-alive connection (reading
// an arbitrarily long "request line" into memory). There is no API to close the connection from
// a handler, so the body is written by a content provider that reports failure after writing
// it: the library then treats the exchange as broken and closes the socket, so the refused body
// is never read.
void RefuseAndClose(Response& res, const Status& s, int http_status) {
  Problem p = MakeProblem(s, http_status);
  res.status = p.http_status;
  res.set_header("Connection", "close");
  auto body = std::make_shared<std::string>(p.body);
  res.set_content_provider(body->size(), kProblemContentType,
                           [body](size_t offset, size_t length, httplib::DataSink& sink) {
                             sink.write(body->data() + offset, length);
                             return false;
                           });
}

bool BearerToken(const Request& req, std::string* token) {
  std::string h = req.get_header_value("Authorization");
  if (h.size() < 8) return false;
  std::string scheme = h.substr(0, 7);
  for (char& c : scheme) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer ") return false;
  size_t start = 7;
  while (start < h.size() && h[start] == ' ') ++start;
  *token = h.substr(start);
  return !token->empty();
}

bool RoleAllowed(Access access, TokenKind kind) {
  switch (access) {
    case Access::kPublic:
    case Access::kRecoveryCode: return true;
    case Access::kOperator: return kind == TokenKind::kOperator;
    case Access::kShop: return kind == TokenKind::kShop;
    case Access::kDevice: return kind == TokenKind::kDevice;
    case Access::kShopOrDevice: return kind == TokenKind::kShop || kind == TokenKind::kDevice;
    case Access::kAnyToken: return kind != TokenKind::kRecovery;
  }
  return false;
}

// Small request bodies of the provisioning routes: an object with only the allowed keys.
Status ParseBody(const Request& req, std::initializer_list<const char*> allowed, Json* out) {
  TS_RETURN_IF_ERROR(ParseJson(req.body, out));
  return JsonReader(*out, "").ExpectObject(allowed);
}

Status ReadName(const JsonReader& r, const char* key, std::string* out) {
  TS_RETURN_IF_ERROR(r.String(key, out, 120));
  if (out->empty()) return Status(ErrorCode::kBadValue, std::string(key) + " must not be empty");
  for (unsigned char c : *out)
    if (c < 0x20 || c == 0x7f) return Status(ErrorCode::kBadValue, std::string(key) + " holds control characters");
  return Status::Ok();
}

int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const Status kNoSuchDevice(ErrorCode::kNotFound, "no such device");
const Status kNoSuchToken(ErrorCode::kNotFound, "no such token");

}  // namespace

const char* AccessName(Access access) {
  switch (access) {
    case Access::kPublic: return "public";
    case Access::kRecoveryCode: return "recovery_code";
    case Access::kOperator: return "operator";
    case Access::kShop: return "shop";
    case Access::kDevice: return "device";
    case Access::kShopOrDevice: return "shop_or_device";
    case Access::kAnyToken: return "any_token";
  }
  return "public";
}

const std::vector<HttpApi::Route>& HttpApi::Routes() {
  static const std::vector<Route>* routes = new std::vector<Route>{
      {{"GET", "/v1/health", Access::kPublic, "liveness, protocol and schema versions"}, &HttpApi::Health},
      {{"POST", "/v1/push", Access::kDevice, "push operations (core PushRequest)"}, &HttpApi::Push},
      {{"POST", "/v1/pull", Access::kDevice, "pull rows after a cursor (core PullRequest)"}, &HttpApi::Pull},
      {{"POST", "/v1/shops", Access::kOperator, "create a shop: shop token + one-time recovery code"},
       &HttpApi::CreateShop},
      {{"GET", "/v1/shop", Access::kShopOrDevice, "the caller's shop: name, currency, devices"}, &HttpApi::GetShop},
      {{"POST", "/v1/devices", Access::kShop, "register a device of the caller's shop"}, &HttpApi::RegisterDevice},
      {{"POST", "/v1/recover", Access::kRecoveryCode, "spend a recovery code: new shop token + new code"},
       &HttpApi::Recover},
      {{"POST", "/v1/tokens/revoke", Access::kAnyToken, "revoke a token or a device's tokens"}, &HttpApi::Revoke},
      {{"POST", "/v1/admin/catalog", Access::kOperator, "catalog changes made on the hub (admin wins)"},
       &HttpApi::AdminCatalog},
      {{"POST", "/v1/admin/min-schema-version", Access::kOperator, "set the minimum device schema version"},
       &HttpApi::AdminMinSchema},
      {{"GET", "/v1/admin/stats", Access::kOperator, "hub statistics"}, &HttpApi::AdminStats},
      {{"GET", "/v1/admin/shops", Access::kOperator, "list shops"}, &HttpApi::AdminShops},
      // Last: everything else that is a GET is the PWA (or a 404).
      {{"GET", "/*", Access::kPublic, "the PWA's static files (--static)"}, &HttpApi::Static},
  };
  return *routes;
}

std::vector<RouteInfo> RouteTable() {
  std::vector<RouteInfo> out;
  for (const HttpApi::Route& r : HttpApi::Routes()) out.push_back(r.info);
  return out;
}

std::string RouteTableJson() {
  Json out = Json::array();
  for (const RouteInfo& r : RouteTable())
    out.push_back(Json{{"method", r.method}, {"path", r.path}, {"access", AccessName(r.access)}, {"summary", r.summary}});
  return out.dump(1);
}

void HttpApi::Touch() { last_activity_ms_.store(SteadyMillis()); }

void HttpApi::Install(httplib::Server* server) {
  Touch();
  // 1. Transport limits, before the body is read. cpp-httplib's own payload limit answers 413
  // only after reading (and discarding) the whole body, and does not limit chunked bodies at
  // all, so the checks are made here on the headers alone.
  const size_t max_body = ctx_.max_body_bytes;
  server->set_payload_max_length(max_body);  // second line of defence
  server->set_pre_routing_handler([this, max_body](const Request& req, Response& res) {
    Touch();
    PreferGzipOverBrotli(req);
    bool has_body_method = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    if (!has_body_method) return httplib::Server::HandlerResponse::Unhandled;
    auto refuse = [&](const Status& s, int http) {
      RefuseAndClose(res, s, http);
      return httplib::Server::HandlerResponse::Handled;
    };
    if (req.has_header("Transfer-Encoding"))
      return refuse(Status(ErrorCode::kBadRequest, "chunked request bodies are not accepted; send Content-Length"), 411);
    std::string encoding = req.get_header_value("Content-Encoding");
    if (!encoding.empty() && encoding != "identity")
      return refuse(Status(ErrorCode::kBadRequest, "compressed request bodies are not accepted"), 415);
    if (!req.has_header("Content-Length"))
      return refuse(Status(ErrorCode::kBadRequest, "a request body needs a Content-Length header"), 411);
    std::string text = req.get_header_value("Content-Length");
    if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
      return refuse(Status(ErrorCode::kBadRequest, "Content-Length is not a number"), 400);
    uint64_t length = std::stoull(text);
    if (length > max_body)
      return refuse(Status(ErrorCode::kTooLarge, "request body of " + text + " bytes is larger than the limit of " +
                                                     std::to_string(max_body)),
                    413);
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // A client that asks "Expect: 100-continue" before sending a large body (curl does above
  // 1 MiB) gets the 413 instead of the go-ahead, so it never sends the body at all.
  server->set_expect_100_continue_handler([max_body](const Request& req, Response& res) {
    std::string text = req.get_header_value("Content-Length");
    bool too_large = !text.empty() && text.size() <= 19 && text.find_first_not_of("0123456789") == std::string::npos &&
                     std::stoull(text) > max_body;
    if (!too_large) return 100;
    SendProblem(res, Status(ErrorCode::kTooLarge, "request body of " + text + " bytes is larger than the limit of " +
                                                      std::to_string(max_body)),
                413);
    return 413;
  });

  for (const Route& route : Routes()) {
    const Route* r = &route;
    auto handler = [this, r](const Request& req, Response& res) { Dispatch(*r, req, res); };
    std::string pattern = std::string(route.info.path) == "/*" ? std::string(".*") : std::string(route.info.path);
    if (std::string(route.info.method) == "GET") server->Get(pattern, handler);
    else server->Post(pattern, handler);
  }
  auto no_route = [](const Request& req, Response& res) { NoRoute(req, res); };
  server->Post(".*", no_route);
  server->Put(".*", no_route);
  server->Patch(".*", no_route);
  server->Delete(".*", no_route);
  server->Options(".*", no_route);
  // Answers cpp-httplib makes itself get a problem body too: a malformed request, a client that
  // went silent mid-request (read timeout), its own size limits. After those the position in the
  // byte stream is unknown, so the connection is closed rather than kept alive: a client that
  // stalls costs a worker thread for one read timeout, not for a keep-alive period more.
  server->set_error_handler([](const Request&, Response& res) {
    if (!res.body.empty() || res.has_header("Content-Type")) return;  // already a problem
    ErrorCode code = res.status == 404   ? ErrorCode::kNotFound
                     : res.status == 413 ? ErrorCode::kTooLarge
                     : res.status >= 500 ? ErrorCode::kInternal
                                         : ErrorCode::kBadRequest;
    RefuseAndClose(res, Status(code, "the request could not be read (malformed, too large or too slow)"),
                   res.status);
  });
}

void HttpApi::NoRoute(const Request& req, Response& res) {
  // 405 when the path exists under another method, else 404.
  std::string allow;
  for (const Route& r : Routes())
    if (req.path == r.info.path) allow += (allow.empty() ? "" : ", ") + std::string(r.info.method);
  if (!res.has_header("Cache-Control")) res.set_header("Cache-Control", "no-store");
  if (!allow.empty()) {
    res.set_header("Allow", allow);
    SendProblem(res, Status(ErrorCode::kBadRequest, req.method + " is not allowed on " + req.path), 405);
  } else {
    SendProblem(res, Status(ErrorCode::kNotFound, "no such route"));
  }
}

void HttpApi::Dispatch(const Route& route, const Request& req, Response& res) {
  Touch();
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  Principal who;
  int retry = 0;
  if (route.info.access == Access::kRecoveryCode) {
    // Unauthenticated but worth guessing at: limited per client address.
    if (!ctx_.address_limiter->Allow("addr:" + req.remote_addr, &retry)) return SendRateLimited(res, retry);
  } else if (route.info.access != Access::kPublic) {
    std::string token;
    Status s = BearerToken(req, &token)
                   ? ctx_.auth->Authenticate(token, &who)
                   : Status(ErrorCode::kUnauthorized, "missing bearer token (Authorization: Bearer <token>)",
                            R"({"reason":"missing"})");
    if (!s.ok()) {
      // Failed credentials cost the address, so nobody can guess tokens at full speed.
      if (s.code() == ErrorCode::kUnauthorized && !ctx_.address_limiter->Allow("addr:" + req.remote_addr, &retry))
        return SendRateLimited(res, retry);
      res.set_header("WWW-Authenticate", "Bearer");
      return SendProblem(res, s);
    }
    if (!RoleAllowed(route.info.access, who.kind))
      return SendProblem(res, Status(ErrorCode::kForbidden, std::string("this route needs a ") +
                                                                AccessName(route.info.access) + " token"));
    if (!ctx_.token_limiter->Allow(who.token_hash, &retry)) return SendRateLimited(res, retry);
  }
  if (std::string(route.info.method) == "POST") {
    // JSON only: besides being the protocol, this keeps cross-site HTML forms (which cannot send
    // application/json without a CORS preflight) from reaching the API.
    std::string type = req.get_header_value("Content-Type");
    if (type.compare(0, 16, "application/json") != 0)
      return SendProblem(res, Status(ErrorCode::kBadRequest, "Content-Type must be application/json"), 415);
  }
  (this->*route.handler)(req, who, res);
  CompressJsonAnswer(req, res);
}

void HttpApi::Health(const Request&, const Principal&, Response& res) {
  SendJson(res, 200,
           DumpJson(Json{{"status", "ok"}, {"protocol", kProtocolVersion}, {"schema_version", LatestSchemaVersion()},
                         {"min_schema_version", ctx_.readers->min_schema_version()}}));
}

void HttpApi::Push(const Request& req, const Principal& who, Response& res) {
  // Decode and validate here, on this HTTP thread (in parallel with the others), so the one
  // writer thread only runs the SQL; a body that does not decode never reaches the writer.
  auto start = std::chrono::steady_clock::now();
  Caller caller{who.shop_id, who.device_id, false};
  PreparedPush request;
  Status s = Hub::PreparePush(caller, req.body, &request);
  if (ctx_.timings != nullptr) ctx_.timings->prepare.Record(PushTimings::MicrosSince(start));
  std::string answer;
  if (s.ok()) s = ctx_.committer->Push(caller, std::move(request), &answer);
  if (ctx_.timings != nullptr) ctx_.timings->handler.Record(PushTimings::MicrosSince(start));
  if (!s.ok()) return SendProblem(res, s);
  SendJson(res, 200, answer);
}

void HttpApi::Pull(const Request& req, const Principal& who, Response& res) {
  HubPool::Lease hub;
  Status s = ctx_.readers->Acquire(&hub);
  std::string answer;
  if (s.ok()) s = hub->Pull(Caller{who.shop_id, who.device_id, false}, req.body, &answer);
  if (!s.ok()) return SendProblem(res, s);
  SendJson(res, 200, answer);
}

void HttpApi::CreateShop(const Request& req, const Principal&, Response& res) {
  Json body;
  Status s = ParseBody(req, {"name", "currency"}, &body);
  std::string name, currency = "EUR";
  JsonReader r(body, "");
  if (s.ok()) s = ReadName(r, "name", &name);
  if (s.ok() && r.Has("currency")) s = r.String("currency", &currency, 3);
  if (s.ok() && (currency.size() != 3 || currency.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos))
    s = Status(ErrorCode::kBadValue, "currency must be a three-letter ISO 4217 code such as EUR");
  if (!s.ok()) return SendProblem(res, s);
  ShopRecord shop;
  s = ctx_.committer->Run([&](Hub* hub) { return hub->CreateShop(name, currency, &shop); });
  std::string token, code;
  // The shop row commits before its credentials: a crash between the two leaves a shop without
  // a token, which the operator repairs with `tillsync-server rotate-token --shop ID`; the other
  // order could leave a token for a shop that does not exist.
  if (s.ok()) s = ctx_.auth->IssueShopCredentials(shop.id, &token, &code);
  if (!s.ok()) return SendProblem(res, s);
  SendJson(res, 201, DumpJson(Json{{"shop_id", shop.id}, {"name", shop.name}, {"currency", shop.currency},
                                   {"shop_token", token}, {"recovery_code", code}}));
}

void HttpApi::GetShop(const Request&, const Principal& who, Response& res) {
  HubPool::Lease hub;
  Status s = ctx_.readers->Acquire(&hub);
  ShopRecord shop;
  std::vector<DeviceRecord> devices;
  std::vector<TokenRecord> tokens;
  if (s.ok()) s = hub->FindShop(who.shop_id, &shop);  // kNotFound: "no such shop"
  if (s.ok()) s = hub->ListDevices(who.shop_id, &devices);
  if (s.ok()) s = ctx_.auth->ListTokens(who.shop_id, &tokens);
  if (!s.ok()) return SendProblem(res, s);
  Json list = Json::array();
  for (const DeviceRecord& d : devices) {
    bool active = false;
    for (const TokenRecord& t : tokens)
      active = active || (t.kind == TokenKind::kDevice && t.device_id == d.id && t.revoked_at == 0);
    list.push_back(Json{{"device_id", d.id}, {"name", d.name}, {"receipt_prefix", d.receipt_prefix},
                        {"created_at", d.created_at}, {"active", active}});
  }
  Json out = {{"shop_id", shop.id}, {"name", shop.name}, {"currency", shop.currency}, {"created_at", shop.created_at},
              {"devices", list}};
  if (who.kind == TokenKind::kDevice) out["device_id"] = who.device_id;
  SendJson(res, 200, DumpJson(out));
}

void HttpApi::RegisterDevice(const Request& req, const Principal& who, Response& res) {
  Json body;
  Status s = ParseBody(req, {"name"}, &body);
  std::string name;
  if (s.ok()) s = ReadName(JsonReader(body, ""), "name", &name);
  if (!s.ok()) return SendProblem(res, s);
  ShopRecord shop;
  DeviceRecord device;
  s = ctx_.committer->Run([&](Hub* hub) {
    TS_RETURN_IF_ERROR(hub->FindShop(who.shop_id, &shop));  // kNotFound: "no such shop"
    return hub->RegisterDevice(who.shop_id, name, &device);
  });
  std::string token;
  if (s.ok()) s = ctx_.auth->Issue(TokenKind::kDevice, who.shop_id, device.id, 0, &token);
  if (!s.ok()) return SendProblem(res, s);
  SendJson(res, 201, DumpJson(Json{{"device_id", device.id}, {"device_token", token}, {"name", device.name},
                                   {"receipt_prefix", device.receipt_prefix}, {"shop_id", shop.id},
                                   {"shop_name", shop.name}, {"currency", shop.currency}}));
}

void HttpApi::Recover(const Request& req, const Principal&, Response& res) {
  Json body;
  Status s = ParseBody(req, {"recovery_code"}, &body);
  std::string code;
  if (s.ok()) s = JsonReader(body, "").String("recovery_code", &code, 256);
  std::string shop_id, token, next;
  if (s.ok()) s = ctx_.auth->Recover(code, &shop_id, &token, &next);
  if (!s.ok()) return SendProblem(res, s);
  SendJson(res, 200, DumpJson(Json{{"shop_id", shop_id}, {"shop_token", token}, {"recovery_code", next}}));
}

void HttpApi::Revoke(const Request& req, const Principal& who, Response& res) {
  Json body;
  Status s = ParseBody(req, {"token", "device_id"}, &body);
  if (!s.ok()) return SendProblem(res, s);
  JsonReader r(body, "");
  if (r.Has("token") == r.Has("device_id"))
    return SendProblem(res, Status(ErrorCode::kBadRequest, "give exactly one of token or device_id"));
  int64_t revoked = 0;
  if (r.Has("token")) {
    std::string text;
    TokenRecord rec;
    bool found = false;
    s = r.String("token", &text, 256);
    if (s.ok()) s = ctx_.auth->Lookup(text, &rec, &found);
    if (!s.ok()) return SendProblem(res, s);
    // Who may revoke what; anything else is answered exactly like an unknown token.
    bool allowed = found && (who.kind == TokenKind::kOperator ||
                             (who.kind == TokenKind::kShop && rec.shop_id == who.shop_id &&
                              (rec.kind == TokenKind::kDevice || rec.kind == TokenKind::kShop)) ||
                             (who.kind == TokenKind::kDevice && rec.hash == who.token_hash));
    if (!allowed) return SendProblem(res, kNoSuchToken);
    s = ctx_.auth->RevokeHash(rec.hash, &revoked);
  } else {
    std::string device_id;
    s = r.String("device_id", &device_id, 256);
    if (s.ok() && !IsValidId(device_id)) s = Status(ErrorCode::kBadId, "device_id is not a valid id");
    if (!s.ok()) return SendProblem(res, s);
    HubPool::Lease hub;
    DeviceRecord device;
    s = ctx_.readers->Acquire(&hub);
    if (s.ok()) s = hub->FindDevice(device_id, &device);
    if (s.code() == ErrorCode::kNotFound) return SendProblem(res, kNoSuchDevice);
    if (!s.ok()) return SendProblem(res, s);
    bool allowed = who.kind == TokenKind::kOperator ||
                   (who.kind == TokenKind::kShop && device.shop_id == who.shop_id) ||
                   (who.kind == TokenKind::kDevice && device.id == who.device_id);
    if (!allowed) return SendProblem(res, kNoSuchDevice);
    s = ctx_.auth->RevokeDevice(device.id, &revoked);
  }
  if (!s.ok()) return SendProblem(res, s);
  SendJson(res, 200, DumpJson(Json{{"revoked", revoked}}));
}

void HttpApi::AdminCatalog(const Request& req, const Principal&, Response& res) {
  Json body;
  Status s = ParseBody(req, {"changes"}, &body);
  const Json* list = nullptr;
  if (s.ok()) s = JsonReader(body, "").Array("changes", &list, kMaxAdminChanges);
  if (s.ok() && list->empty()) s = Status(ErrorCode::kBadRequest, "changes is empty");
  std::vector<Change> changes;
  for (size_t i = 0; s.ok() && i < list->size(); ++i) {
    std::string path = "changes[" + std::to_string(i) + "]";
    JsonReader cr((*list)[i], path);
    Change c;
    const Json* values = nullptr;
    s = cr.ExpectObject({"table", "id", "values"});
    if (s.ok()) s = cr.String("table", &c.table, 64);
    if (s.ok()) s = cr.String("id", &c.id, 256);
    if (s.ok()) s = cr.Object("values", &values);
    if (!s.ok()) break;
    const TableSpec* spec = FindTable(c.table);
    if (spec == nullptr) s = Status(ErrorCode::kUnknownTable, "unknown table " + c.table);
    else if (spec->scope != Scope::kCatalog)
      s = Status(ErrorCode::kForbidden, path + ": " + c.table + " is shop data, not catalog; shops write it");
    else if (!IsValidId(c.id)) s = Status(ErrorCode::kBadId, path + ".id must be 1 to 64 characters of A-Z a-z 0-9 _ . : -");
    c.values = *values;
    changes.push_back(std::move(c));
  }
  if (s.ok()) s = ctx_.committer->Run([&](Hub* hub) { return hub->AdminWrite(changes); });
  if (!s.ok()) return SendProblem(res, s);
  SendJson(res, 200, DumpJson(Json{{"applied", changes.size()}}));
}

void HttpApi::AdminMinSchema(const Request& req, const Principal&, Response& res) {
  Json body;
  Status s = ParseBody(req, {"min_schema_version"}, &body);
  int64_t v = 0;
  if (s.ok()) s = JsonReader(body, "").Int("min_schema_version", &v);
  if (s.ok() && (v < 1 || v > kMaxMinSchemaVersion))
    s = Status(ErrorCode::kBadValue, "min_schema_version must be 1 to " + std::to_string(kMaxMinSchemaVersion));
  // Persisted first: a restart keeps what the operator asked for.
  if (s.ok()) s = ctx_.auth->PutSetting("min_schema_version", std::to_string(v));
  if (s.ok())
    s = ctx_.committer->Run([&](Hub* hub) {
      hub->set_min_schema_version(v);
      ctx_.readers->set_min_schema_version(v);
      return Status::Ok();
    });
  if (!s.ok()) return SendProblem(res, s);
  SendJson(res, 200, DumpJson(Json{{"min_schema_version", v}, {"schema_version", LatestSchemaVersion()}}));
}

void HttpApi::AdminStats(const Request&, const Principal&, Response& res) {
  HubPool::Lease hub;
  Status s = ctx_.readers->Acquire(&hub);
  HubStats st;
  int64_t hub_seq = 0, operators = 0, shops = 0, devices = 0;
  if (s.ok()) s = hub->Stats(&st);
  // A reader Hub's own sequence counter is only what it saw when it opened; read the committed one.
  if (s.ok()) s = hub->CommittedSeq(&hub_seq);
  if (s.ok()) s = ctx_.auth->CountValid(TokenKind::kOperator, &operators);
  if (s.ok()) s = ctx_.auth->CountValid(TokenKind::kShop, &shops);
  if (s.ok()) s = ctx_.auth->CountValid(TokenKind::kDevice, &devices);
  if (!s.ok()) return SendProblem(res, s);
  CommitterStats cs = ctx_.committer->stats();
  SendJson(res, 200,
           DumpJson(Json{{"shops", st.shops},
                         {"devices", st.devices},
                         {"rows", st.rows},
                         {"ops_applied", st.ops_applied},
                         {"ops_rejected", st.ops_rejected},
                         {"ops_conflicted", st.ops_conflicted},
                         {"hub_seq", hub_seq},
                         {"min_schema_version", ctx_.readers->min_schema_version()},
                         {"schema_version", LatestSchemaVersion()},
                         {"valid_tokens", {{"operator", operators}, {"shop", shops}, {"device", devices}}},
                         {"server",
                          {{"push_groups", cs.groups},
                           {"pushes", cs.pushes},
                           {"largest_group", cs.largest_group},
                           {"writer_tasks", cs.tasks},
                           {"reader_connections", ctx_.readers->opened()},
                           {"rate_limited", ctx_.token_limiter->refused() + ctx_.address_limiter->refused()},
                           {"wal_frames_written", ctx_.wal != nullptr ? ctx_.wal->frames_written() : 0},
                           {"writer_checkpoints", ctx_.wal != nullptr ? ctx_.wal->checkpoints() : 0},
                           {"writer_checkpoints_deferred", ctx_.wal != nullptr ? ctx_.wal->checkpoints_deferred() : 0},
                           {"page_size", ctx_.wal != nullptr ? ctx_.wal->page_size() : 0},
                           {"wal_write_calls", WalCoalescingVfs::write_calls()},
                           {"wal_writes_issued", WalCoalescingVfs::writes_issued()}}},
                         {"push_timings", ctx_.timings != nullptr ? ctx_.timings->ToJson() : Json::object()}}));
}

void HttpApi::AdminShops(const Request&, const Principal&, Response& res) {
  HubPool::Lease hub;
  Status s = ctx_.readers->Acquire(&hub);
  std::vector<ShopRecord> shops;
  if (s.ok()) s = hub->ListShops(&shops);
  Json list = Json::array();
  for (size_t i = 0; s.ok() && i < shops.size(); ++i) {
    std::vector<DeviceRecord> devices;
    s = hub->ListDevices(shops[i].id, &devices);
    list.push_back(Json{{"shop_id", shops[i].id}, {"name", shops[i].name}, {"currency", shops[i].currency},
                        {"created_at", shops[i].created_at}, {"devices", devices.size()}});
  }
  if (!s.ok()) return SendProblem(res, s);
  SendJson(res, 200, DumpJson(Json{{"shops", list}}));
}

void HttpApi::Static(const Request& req, const Principal&, Response& res) {
  // Unknown API paths are API 404s, never the app shell.
  bool api = req.path == "/v1" || req.path.compare(0, 4, "/v1/") == 0;
  if (api) return NoRoute(req, res);
  if (ctx_.static_files != nullptr) {
    // The file decides its own headers.
    res.headers.erase("Cache-Control");
    res.headers.erase("X-Content-Type-Options");
    if (ctx_.static_files->Serve(req, res)) return;
    res.set_header("Cache-Control", "no-store");
  }
  SendProblem(res, Status(ErrorCode::kNotFound, "no such file"));
}

}  // namespace tillsync::server
