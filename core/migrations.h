// Migrations: the schema/migrations/*.sql files, embedded at build time, applied in order. The
// database's schema version is SQLite's user_version. Opening applies every migration newer than
// the database inside one transaction (all or nothing) and refuses a database whose version is
// newer than this build knows (kSchemaTooNew): an old app must never write a newer format.
#pragma once

#include <string>
#include <vector>

#include "core/database.h"

namespace tillsync {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// Built from schema/migrations by schema/embed_migrations.cmake.
const std::vector<Migration>& EmbeddedMigrations();

// The schema version this build writes (the highest embedded migration).
int LatestSchemaVersion();

Status SchemaVersion(Database* db, int* version);

// Brings the database to the latest version, or refuses when it is newer than this build.
Status Migrate(Database* db, const std::vector<Migration>& migrations = EmbeddedMigrations());

}  // namespace tillsync
