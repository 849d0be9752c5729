// ServerSchema: the server's own tables inside the hub's SQLite file. The core owns its tables
// and PRAGMA user_version; the server never touches either. Its tables all start with `_srv_`
// and carry their own version number in `_srv_meta`, migrated forward here, so the core's and
// the server's schemas evolve independently in one file (one file = one backup = one fsync
// domain; a PostgreSQL backend would hold the same tables in the same database).
//
//   _srv_meta(key, value)       schema_version of the _srv_ tables
//   _srv_tokens(...)            credentials, as SHA-256 hashes only (see auth_store.h)
//   _srv_settings(key, value)   operator settings that survive a restart (min_schema_version,
//                               demo shop id, demo seed)
//
// Free functions over a borrowed Database; the caller serialises use of that connection.
#pragma once

#include <string>

#include "core/database.h"

namespace tillsync::server {

constexpr int kServerSchemaVersion = 1;

// Creates or migrates the _srv_ tables. Idempotent; safe when several connections race (the
// work runs inside BEGIN IMMEDIATE and re-reads the version under the lock).
Status EnsureServerSchema(Database* db);

Status GetSetting(Database* db, const std::string& key, std::string* value, bool* found);
Status PutSetting(Database* db, const std::string& key, const std::string& value);

}  // namespace tillsync::server
