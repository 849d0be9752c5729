#include "server/auth_store.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "server/server_schema.h"

namespace tillsync::server {
namespace {

constexpr size_t kSecretBytes = 32;
constexpr size_t kMaxTokenLength = 128;

const char* KindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kOperator: return "operator";
    case TokenKind::kShop: return "shop";
    case TokenKind::kDevice: return "device";
    case TokenKind::kRecovery: return "recovery";
  }
  return "device";
}

bool KindFromName(const std::string& name, TokenKind* out) {
  for (TokenKind k : {TokenKind::kOperator, TokenKind::kShop, TokenKind::kDevice, TokenKind::kRecovery})
    if (name == KindName(k)) {
      *out = k;
      return true;
    }
  return false;
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

// Cheap shape check before any hashing or lookup: garbage is refused the same way as an unknown
// token, so the answer says nothing about which tokens exist.
bool LooksLikeToken(std::string_view t) {
  if (t.size() < 8 || t.size() > kMaxTokenLength || t.substr(0, 4) != "tsk_") return false;
  for (char c : t)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

Status ReadRecord(Statement* st, TokenRecord* out) {
  // Columns: hash, kind, shop_id, device_id, hint, created_at, expires_at, revoked_at
  out->hash = st->Text(0);
  if (!KindFromName(st->Text(1), &out->kind)) return Status(ErrorCode::kCorrupt, "token row of unknown kind");
  out->shop_id = st->Text(2);
  out->device_id = st->Text(3);
  out->hint = st->Text(4);
  out->created_at = st->Int(5);
  out->expires_at = st->IsNull(6) ? 0 : st->Int(6);
  out->revoked_at = st->IsNull(7) ? 0 : st->Int(7);
  return Status::Ok();
}

constexpr const char* kSelectColumns =
    "SELECT hash, kind, shop_id, device_id, hint, created_at, expires_at, revoked_at FROM _srv_tokens ";

}  // namespace

const char* TokenKindName(TokenKind kind) { return KindName(kind); }

const char* TokenPrefix(TokenKind kind) {
  switch (kind) {
    case TokenKind::kOperator: return "tsk_op_";
    case TokenKind::kShop: return "tsk_shop_";
    case TokenKind::kDevice: return "tsk_dev_";
    case TokenKind::kRecovery: return "tsk_rec_";
  }
  return "tsk_";
}

std::string Sha256Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    // Not reachable with a working libcrypto; an empty hash matches no stored row.
    return std::string();
  }
  return Hex(digest, len);
}

Status AuthStore::Open(const std::string& path, std::unique_ptr<AuthStore>* out, Env* env) {
  std::unique_ptr<AuthStore> store(new AuthStore());
  store->env_ = env ? env : SystemEnv();
  TS_RETURN_IF_ERROR(Database::Open(path, OpenOptions(), &store->db_));
  TS_RETURN_IF_ERROR(EnsureServerSchema(store->db_.get()));
  TS_RETURN_IF_ERROR(Database::Open(path, OpenOptions(), &store->read_db_));
  *out = std::move(store);
  return Status::Ok();
}

Status AuthStore::NewTokenText(TokenKind kind, std::string* out) {
  unsigned char secret[kSecretBytes];
  if (RAND_bytes(secret, sizeof secret) != 1)
    return Status(ErrorCode::kInternal, "the system random source failed");
  *out = std::string(TokenPrefix(kind)) + Hex(secret, sizeof secret);
  return Status::Ok();
}

Status AuthStore::InsertLocked(const std::string& token, TokenKind kind, const std::string& shop_id,
                               const std::string& device_id, int64_t expires_at, bool ignore_existing) {
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare(std::string("INSERT ") + (ignore_existing ? "OR IGNORE " : "") +
                                      "INTO _srv_tokens (hash, kind, shop_id, device_id, hint, created_at, "
                                      "expires_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)",
                                  &st));
  size_t prefix = std::string_view(TokenPrefix(kind)).size();
  st.Bind(1, Sha256Hex(token)).Bind(2, std::string_view(KindName(kind)));
  if (shop_id.empty()) st.BindNull(3); else st.Bind(3, shop_id);
  if (device_id.empty()) st.BindNull(4); else st.Bind(4, device_id);
  st.Bind(5, token.substr(0, prefix + 6) + "...").Bind(6, env_->NowMillis());
  if (expires_at > 0) st.Bind(7, expires_at); else st.BindNull(7);
  return st.Run();
}

Status AuthStore::Issue(TokenKind kind, const std::string& shop_id, const std::string& device_id, int64_t ttl_ms,
                        std::string* token) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string text;
  TS_RETURN_IF_ERROR(NewTokenText(kind, &text));
  TS_RETURN_IF_ERROR(InsertLocked(text, kind, shop_id, device_id, ttl_ms > 0 ? env_->NowMillis() + ttl_ms : 0, false));
  *token = text;
  return Status::Ok();
}

Status AuthStore::Install(const std::string& token, TokenKind kind, const std::string& shop_id,
                          const std::string& device_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return InsertLocked(token, kind, shop_id, device_id, 0, true);
}

Status AuthStore::IssueShopCredentials(const std::string& shop_id, std::string* shop_token,
                                       std::string* recovery_code) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string token, code;
  TS_RETURN_IF_ERROR(NewTokenText(TokenKind::kShop, &token));
  TS_RETURN_IF_ERROR(NewTokenText(TokenKind::kRecovery, &code));
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  TS_RETURN_IF_ERROR(InsertLocked(token, TokenKind::kShop, shop_id, "", 0, false));
  TS_RETURN_IF_ERROR(InsertLocked(code, TokenKind::kRecovery, shop_id, "", 0, false));
  TS_RETURN_IF_ERROR(txn.Commit());
  *shop_token = token;
  *recovery_code = code;
  return Status::Ok();
}

Status AuthStore::Rotate(TokenKind kind, const std::string& shop_id, const std::string& device_id, int64_t ttl_ms,
                         std::string* token) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string text;
  TS_RETURN_IF_ERROR(NewTokenText(kind, &text));
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  Statement st;
  int64_t now = env_->NowMillis();
  if (kind == TokenKind::kOperator) {
    TS_RETURN_IF_ERROR(db_->Prepare(
        "UPDATE _srv_tokens SET revoked_at=?1 WHERE kind='operator' AND revoked_at IS NULL", &st));
    st.Bind(1, now);
  } else if (kind == TokenKind::kShop) {
    TS_RETURN_IF_ERROR(db_->Prepare(
        "UPDATE _srv_tokens SET revoked_at=?1 WHERE kind='shop' AND shop_id=?2 AND revoked_at IS NULL", &st));
    st.Bind(1, now).Bind(2, shop_id);
  } else if (kind == TokenKind::kDevice) {
    TS_RETURN_IF_ERROR(db_->Prepare(
        "UPDATE _srv_tokens SET revoked_at=?1 WHERE kind='device' AND device_id=?2 AND revoked_at IS NULL", &st));
    st.Bind(1, now).Bind(2, device_id);
  } else {
    return Status(ErrorCode::kBadRequest, "recovery codes are rotated by spending one (recover)");
  }
  TS_RETURN_IF_ERROR(st.Run());
  TS_RETURN_IF_ERROR(InsertLocked(text, kind, shop_id, device_id, ttl_ms > 0 ? now + ttl_ms : 0, false));
  TS_RETURN_IF_ERROR(txn.Commit());
  *token = text;
  return Status::Ok();
}

Status AuthStore::Recover(std::string_view code, std::string* shop_id, std::string* shop_token,
                          std::string* new_code) {
  const Status refused(ErrorCode::kUnauthorized, "the recovery code is not valid (unknown, used or revoked)");
  if (!LooksLikeToken(code)) return refused;
  std::lock_guard<std::mutex> lock(mu_);
  std::string token, next_code;
  TS_RETURN_IF_ERROR(NewTokenText(TokenKind::kShop, &token));
  TS_RETURN_IF_ERROR(NewTokenText(TokenKind::kRecovery, &next_code));
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare(std::string(kSelectColumns) + "WHERE hash=?1", &st));
  st.Bind(1, Sha256Hex(code));
  bool row = false;
  TS_RETURN_IF_ERROR(st.Step(&row));
  if (!row) return refused;
  TokenRecord rec;
  TS_RETURN_IF_ERROR(ReadRecord(&st, &rec));
  int64_t now = env_->NowMillis();
  if (rec.kind != TokenKind::kRecovery || rec.revoked_at != 0 || (rec.expires_at != 0 && rec.expires_at <= now))
    return refused;
  // The code is spent and every shop token of the shop revoked in the same transaction that
  // issues the new pair: a crash leaves either the old credentials or the new, never both.
  Statement revoke;
  TS_RETURN_IF_ERROR(db_->Prepare(
      "UPDATE _srv_tokens SET revoked_at=?1 WHERE shop_id=?2 AND kind IN ('shop','recovery') AND revoked_at IS NULL",
      &revoke));
  revoke.Bind(1, now).Bind(2, rec.shop_id);
  TS_RETURN_IF_ERROR(revoke.Run());
  TS_RETURN_IF_ERROR(InsertLocked(token, TokenKind::kShop, rec.shop_id, "", 0, false));
  TS_RETURN_IF_ERROR(InsertLocked(next_code, TokenKind::kRecovery, rec.shop_id, "", 0, false));
  TS_RETURN_IF_ERROR(txn.Commit());
  *shop_id = rec.shop_id;
  *shop_token = token;
  *new_code = next_code;
  return Status::Ok();
}

Status AuthStore::Lookup(std::string_view token, TokenRecord* out, bool* found) {
  *found = false;
  if (!LooksLikeToken(token)) return Status::Ok();
  std::string hash = Sha256Hex(token);
  std::lock_guard<std::mutex> lock(read_mu_);
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(read_db_->Cached(
      "SELECT hash, kind, shop_id, device_id, hint, created_at, expires_at, revoked_at FROM _srv_tokens WHERE hash=?1",
      &st));
  st->Bind(1, hash);
  bool row = false;
  Status s = st->Step(&row);
  if (s.ok() && row) {
    s = ReadRecord(st, out);
    *found = s.ok();
  }
  st->Reset();
  return s;
}

Status AuthStore::Authenticate(std::string_view token, Principal* out) {
  TokenRecord rec;
  bool found = false;
  TS_RETURN_IF_ERROR(Lookup(token, &rec, &found));
  if (!found) return Status(ErrorCode::kUnauthorized, "unknown token", R"({"reason":"unknown"})");
  if (rec.revoked_at != 0) return Status(ErrorCode::kUnauthorized, "the token has been revoked", R"({"reason":"revoked"})");
  if (rec.expires_at != 0 && rec.expires_at <= env_->NowMillis())
    return Status(ErrorCode::kUnauthorized, "the token has expired", R"({"reason":"expired"})");
  // A recovery code is not a bearer token: it is spent through POST /v1/recover only.
  if (rec.kind == TokenKind::kRecovery)
    return Status(ErrorCode::kUnauthorized, "a recovery code is not a bearer token", R"({"reason":"unknown"})");
  out->kind = rec.kind;
  out->shop_id = rec.shop_id;
  out->device_id = rec.device_id;
  out->token_hash = rec.hash;
  return Status::Ok();
}

Status AuthStore::RevokeHash(const std::string& hash, int64_t* count) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare("UPDATE _srv_tokens SET revoked_at=?1 WHERE hash=?2 AND revoked_at IS NULL", &st));
  st.Bind(1, env_->NowMillis()).Bind(2, hash);
  TS_RETURN_IF_ERROR(st.Run());
  *count = db_->Changes();
  return Status::Ok();
}

Status AuthStore::RevokeDevice(const std::string& device_id, int64_t* count) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare(
      "UPDATE _srv_tokens SET revoked_at=?1 WHERE kind='device' AND device_id=?2 AND revoked_at IS NULL", &st));
  st.Bind(1, env_->NowMillis()).Bind(2, device_id);
  TS_RETURN_IF_ERROR(st.Run());
  *count = db_->Changes();
  return Status::Ok();
}

Status AuthStore::RevokeShop(const std::string& shop_id, int64_t* count) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare(
      "UPDATE _srv_tokens SET revoked_at=?1 WHERE shop_id=?2 AND revoked_at IS NULL", &st));
  st.Bind(1, env_->NowMillis()).Bind(2, shop_id);
  TS_RETURN_IF_ERROR(st.Run());
  *count = db_->Changes();
  return Status::Ok();
}

Status AuthStore::ListTokens(const std::string& shop_id, std::vector<TokenRecord>* out) {
  std::lock_guard<std::mutex> lock(read_mu_);
  out->clear();
  Statement st;
  TS_RETURN_IF_ERROR(read_db_->Prepare(std::string(kSelectColumns) + "WHERE shop_id=?1 ORDER BY created_at, hash", &st));
  st.Bind(1, shop_id);
  while (true) {
    bool row = false;
    TS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    TokenRecord rec;
    TS_RETURN_IF_ERROR(ReadRecord(&st, &rec));
    out->push_back(std::move(rec));
  }
  return Status::Ok();
}

Status AuthStore::CountValid(TokenKind kind, int64_t* out) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Statement st;
  TS_RETURN_IF_ERROR(read_db_->Prepare(
      "SELECT COUNT(*) FROM _srv_tokens WHERE kind=?1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at>?2)",
      &st));
  st.Bind(1, std::string_view(KindName(kind))).Bind(2, env_->NowMillis());
  bool row = false;
  TS_RETURN_IF_ERROR(st.Step(&row));
  *out = st.Int(0);
  return Status::Ok();
}

Status AuthStore::GetSetting(const std::string& key, std::string* value, bool* found) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return server::GetSetting(read_db_.get(), key, value, found);
}

Status AuthStore::PutSetting(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(mu_);
  return server::PutSetting(db_.get(), key, value);
}

}  // namespace tillsync::server
