// AuthStore: the hub's credentials. Four kinds of secret, each with a prefix a person (and a
// secret scanner) recognises:
//
//   tsk_op_...    operator token: provisioning, catalog administration, statistics
//   tsk_shop_...  shop token: registers the shop's devices, reads the shop, revokes its devices
//   tsk_dev_...   device token: push and pull for one device of one shop
//   tsk_rec_...   recovery code: one use; issues a new shop token and a new code
//
// The text after the prefix is 32 bytes from OpenSSL's RAND_bytes in lowercase hex. Only the
// SHA-256 of the whole text is stored (_srv_tokens, see server_schema.h): a copy of the database
// file does not give anyone a working credential, and a lookup compares hashes, so no timing of
// a string comparison leaks a secret. The token's shop and device are columns of its row: the
// HTTP layer builds the core's Caller from them and never from a request body.
//
// Ownership and threading: an AuthStore owns two SQLite connections to the hub file, one for
// lookups (every request) and one for writes (provisioning, revocation: small and rare), each
// behind its own mutex. In WAL mode the lookups then never wait for a token write's fsync, nor
// for the push writer. Safe to call from every HTTP worker thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/database.h"
#include "core/env.h"

namespace tillsync::server {

enum class TokenKind { kOperator, kShop, kDevice, kRecovery };
const char* TokenKindName(TokenKind kind);  // "operator", "shop", "device", "recovery"
const char* TokenPrefix(TokenKind kind);    // "tsk_op_", ...

struct TokenRecord {
  TokenKind kind = TokenKind::kDevice;
  std::string hash;
  std::string shop_id;
  std::string device_id;
  std::string hint;  // prefix + first 6 characters of the secret part
  int64_t created_at = 0;
  int64_t expires_at = 0;  // 0: never
  int64_t revoked_at = 0;  // 0: valid
};

// Who is calling, as proven by a valid token.
struct Principal {
  TokenKind kind = TokenKind::kDevice;
  std::string shop_id;
  std::string device_id;
  std::string token_hash;
};

// Lowercase hex SHA-256 of `text` (OpenSSL EVP).
std::string Sha256Hex(std::string_view text);

class AuthStore {
 public:
  static Status Open(const std::string& path, std::unique_ptr<AuthStore>* out, Env* env = nullptr);

  // A new random token of `kind`; ttl_ms 0 means it never expires.
  Status Issue(TokenKind kind, const std::string& shop_id, const std::string& device_id, int64_t ttl_ms,
               std::string* token);
  // Records the hash of a token the caller derived itself (demo mode only); a known hash is left
  // as it is, revoked or not, so a revocation is never undone by a restart.
  Status Install(const std::string& token, TokenKind kind, const std::string& shop_id, const std::string& device_id);
  // A new shop's token and its recovery code, in one transaction.
  Status IssueShopCredentials(const std::string& shop_id, std::string* shop_token, std::string* recovery_code);
  // Revokes every valid token of this kind for this principal and issues a new one, atomically.
  // operator: every operator token; shop: the shop's shop tokens; device: the device's tokens.
  Status Rotate(TokenKind kind, const std::string& shop_id, const std::string& device_id, int64_t ttl_ms,
                std::string* token);
  // Spends a recovery code: the code and every shop token of its shop are revoked, and a new
  // shop token and a new code are issued, all in one transaction. Device tokens stay valid (the
  // tills keep selling while the owner recovers the shop credentials).
  Status Recover(std::string_view code, std::string* shop_id, std::string* shop_token, std::string* new_code);

  // kUnauthorized (message: unknown, revoked or expired) unless `token` is valid now.
  Status Authenticate(std::string_view token, Principal* out);
  // The record of a token in any state; *found false when the hash is unknown.
  Status Lookup(std::string_view token, TokenRecord* out, bool* found);

  Status RevokeHash(const std::string& hash, int64_t* count);
  Status RevokeDevice(const std::string& device_id, int64_t* count);
  // Every valid token of the shop (shop tokens, recovery codes and its devices' tokens).
  Status RevokeShop(const std::string& shop_id, int64_t* count);

  Status ListTokens(const std::string& shop_id, std::vector<TokenRecord>* out);
  Status CountValid(TokenKind kind, int64_t* out);

  // Operator settings live beside the tokens (same connection, same lock).
  Status GetSetting(const std::string& key, std::string* value, bool* found);
  Status PutSetting(const std::string& key, const std::string& value);

 private:
  AuthStore() = default;
  Status InsertLocked(const std::string& token, TokenKind kind, const std::string& shop_id,
                      const std::string& device_id, int64_t expires_at, bool ignore_existing);
  Status NewTokenText(TokenKind kind, std::string* out);

  std::mutex mu_;                      // guards db_ (writes)
  std::unique_ptr<Database> db_;
  std::mutex read_mu_;                 // guards read_db_ (lookups, lists, settings reads)
  std::unique_ptr<Database> read_db_;
  Env* env_ = nullptr;
};

}  // namespace tillsync::server
