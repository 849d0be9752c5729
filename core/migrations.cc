#include "core/migrations.h"

#include <algorithm>

#include "core/cold_code.h"

namespace tillsync {

int LatestSchemaVersion() {
  int latest = 0;
  for (const Migration& m : EmbeddedMigrations()) latest = std::max(latest, m.version);
  return latest;
}

TS_COLD Status SchemaVersion(Database* db, int* version) {
  Statement st;
  TS_RETURN_IF_ERROR(db->Prepare("PRAGMA user_version", &st));
  bool row = false;
  TS_RETURN_IF_ERROR(st.Step(&row));
  *version = row ? int(st.Int(0)) : 0;
  return Status::Ok();
}

TS_COLD Status Migrate(Database* db, const std::vector<Migration>& migrations) {
  int latest = 0;
  for (const Migration& m : migrations) latest = std::max(latest, m.version);
  int current = 0;
  TS_RETURN_IF_ERROR(SchemaVersion(db, &current));
  if (current > latest) {
    return Status(ErrorCode::kSchemaTooNew,
                  "database schema version " + std::to_string(current) +
                      " is newer than this build (" + std::to_string(latest) + "); update the app",
                  "{\"database_version\":" + std::to_string(current) +
                      ",\"supported_version\":" + std::to_string(latest) + "}");
  }
  if (current == latest) return Status::Ok();
  Transaction txn(db);
  TS_RETURN_IF_ERROR(txn.Begin());
  // Re-read inside the write lock: another connection may have migrated meanwhile.
  TS_RETURN_IF_ERROR(SchemaVersion(db, &current));
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    Status s = db->Exec(m.sql);
    if (!s.ok()) return Status(s.code(), std::string("migration ") + m.name + ": " + s.message());
  }
  TS_RETURN_IF_ERROR(db->Exec("PRAGMA user_version=" + std::to_string(latest)));
  return txn.Commit();
}

}  // namespace tillsync
