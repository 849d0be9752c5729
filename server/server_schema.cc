#include "server/server_schema.h"

namespace tillsync::server {
namespace {

// Version 1. A later version appends a step; steps never change once released.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS _srv_tokens (
  hash TEXT PRIMARY KEY NOT NULL,   -- lowercase hex SHA-256 of the whole token text
  kind TEXT NOT NULL,               -- operator | shop | device | recovery
  shop_id TEXT,                     -- shop, device, recovery: the shop the token speaks for
  device_id TEXT,                   -- device: the device
  hint TEXT NOT NULL,               -- prefix + first 6 characters, so a person can tell tokens apart
  created_at INTEGER NOT NULL,
  expires_at INTEGER,               -- NULL: never
  revoked_at INTEGER                -- NULL: valid
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS _srv_tokens_by_shop ON _srv_tokens(shop_id, kind);
CREATE INDEX IF NOT EXISTS _srv_tokens_by_device ON _srv_tokens(device_id);
CREATE TABLE IF NOT EXISTS _srv_settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
)sql";

Status ReadVersion(Database* db, int* version) {
  *version = 0;
  Statement st;
  TS_RETURN_IF_ERROR(db->Prepare("SELECT value FROM _srv_meta WHERE key='schema_version'", &st));
  bool row = false;
  TS_RETURN_IF_ERROR(st.Step(&row));
  if (row) *version = int(st.Int(0));
  return Status::Ok();
}

}  // namespace

Status EnsureServerSchema(Database* db) {
  TS_RETURN_IF_ERROR(db->Exec(
      "CREATE TABLE IF NOT EXISTS _srv_meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID"));
  int version = 0;
  TS_RETURN_IF_ERROR(ReadVersion(db, &version));
  if (version == kServerSchemaVersion) return Status::Ok();
  if (version > kServerSchemaVersion)
    return Status(ErrorCode::kSchemaTooNew, "the server tables have version " + std::to_string(version) +
                                                "; this build knows " + std::to_string(kServerSchemaVersion));
  Transaction txn(db);
  TS_RETURN_IF_ERROR(txn.Begin());
  TS_RETURN_IF_ERROR(ReadVersion(db, &version));  // another connection may have won the race
  if (version < 1) TS_RETURN_IF_ERROR(db->Exec(kSchemaV1));
  TS_RETURN_IF_ERROR(db->Exec("INSERT OR REPLACE INTO _srv_meta (key, value) VALUES ('schema_version', " +
                              std::to_string(kServerSchemaVersion) + ")"));
  return txn.Commit();
}

Status GetSetting(Database* db, const std::string& key, std::string* value, bool* found) {
  Statement st;
  TS_RETURN_IF_ERROR(db->Prepare("SELECT value FROM _srv_settings WHERE key=?1", &st));
  st.Bind(1, key);
  TS_RETURN_IF_ERROR(st.Step(found));
  if (*found) *value = st.Text(0);
  return Status::Ok();
}

Status PutSetting(Database* db, const std::string& key, const std::string& value) {
  Statement st;
  TS_RETURN_IF_ERROR(db->Prepare("INSERT OR REPLACE INTO _srv_settings (key, value) VALUES (?1, ?2)", &st));
  st.Bind(1, key).Bind(2, value);
  return st.Run();
}

}  // namespace tillsync::server
