// Schema migrations: applied in order, all or nothing, recorded in user_version, and a database
// written by a newer build is refused untouched. Databases live on the in-memory fault VFS, so
// "untouched" can be checked by counting the writes that reached the file.
#include "core/migrations.h"

#include <gtest/gtest.h>

#include "core/device.h"
#include "core/hub.h"
#include "tests/support/fault_vfs.h"
#include "tests/support/sync_helpers.h"

namespace tillsync {
namespace {

using test_support::QueryInt;

class MigrationsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Database> Open(const std::string& path = "m.db") {
    OpenOptions o;
    o.vfs = vfs_.name();
    o.exclusive_locking = true;
    std::unique_ptr<Database> db;
    Status s = Database::Open(path, o, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return db;
  }
  static int Version(Database* db) {
    int v = -1;
    EXPECT_TRUE(SchemaVersion(db, &v).ok());
    return v;
  }
  static bool HasTable(Database* db, const std::string& name) {
    return QueryInt(db, "SELECT COUNT(*) FROM sqlite_schema WHERE type='table' AND name='" + name + "'") == 1;
  }

  FaultVfs vfs_{"migrations-vfs"};
};

// Version 2 fills a table that version 1 creates, so applying them out of order would fail.
const std::vector<Migration> kTwo = {
    {1, "001_items", "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"},
    {2, "002_seed", "CREATE TABLE tags (id INTEGER PRIMARY KEY); INSERT INTO items (name) VALUES ('first');"},
};

TEST_F(MigrationsTest, AppliesEveryMigrationInOrderAndRecordsTheVersion) {
  auto db = Open();
  ASSERT_EQ(Version(db.get()), 0);
  Status s = Migrate(db.get(), kTwo);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Version(db.get()), 2);
  EXPECT_TRUE(HasTable(db.get(), "items"));
  EXPECT_TRUE(HasTable(db.get(), "tags"));
  EXPECT_EQ(QueryInt(db.get(), "SELECT COUNT(*) FROM items"), 1);
}

TEST_F(MigrationsTest, ReopeningAnUpToDateDatabaseChangesNothing) {
  {
    auto db = Open();
    ASSERT_TRUE(Migrate(db.get(), kTwo).ok());
  }
  auto db = Open();
  int64_t writes_before = vfs_.writes();
  ASSERT_TRUE(Migrate(db.get(), kTwo).ok());
  EXPECT_EQ(vfs_.writes(), writes_before);
  EXPECT_EQ(Version(db.get()), 2);
  EXPECT_EQ(QueryInt(db.get(), "SELECT COUNT(*) FROM items"), 1);  // the seed ran once
}

TEST_F(MigrationsTest, OnlyMigrationsNewerThanTheDatabaseRun) {
  auto db = Open();
  ASSERT_TRUE(Migrate(db.get(), {kTwo[0]}).ok());
  ASSERT_EQ(Version(db.get()), 1);
  ASSERT_TRUE(db->Exec("INSERT INTO items (name) VALUES ('made at version 1')").ok());
  ASSERT_TRUE(Migrate(db.get(), kTwo).ok());
  EXPECT_EQ(Version(db.get()), 2);
  EXPECT_EQ(QueryInt(db.get(), "SELECT COUNT(*) FROM items"), 2);  // the data survived the upgrade
}

TEST_F(MigrationsTest, RefusesADatabaseNewerThanThisBuildAndLeavesItAsItWas) {
  auto db = Open();
  ASSERT_TRUE(Migrate(db.get(), kTwo).ok());
  ASSERT_TRUE(db->Exec("PRAGMA user_version=7").ok());
  int64_t writes_before = vfs_.writes();
  Status s = Migrate(db.get(), kTwo);
  EXPECT_EQ(s.code(), ErrorCode::kSchemaTooNew);
  EXPECT_NE(s.detail().find("\"database_version\":7"), std::string::npos) << s.detail();
  EXPECT_NE(s.detail().find("\"supported_version\":2"), std::string::npos) << s.detail();
  EXPECT_EQ(vfs_.writes(), writes_before);
  EXPECT_EQ(Version(db.get()), 7);
}

TEST_F(MigrationsTest, DeviceAndHubRefuseToOpenANewerDatabase) {
  {
    auto db = Open("newer.db");
    ASSERT_TRUE(Migrate(db.get()).ok());
    ASSERT_TRUE(db->Exec("PRAGMA user_version=" + std::to_string(LatestSchemaVersion() + 1)).ok());
  }
  int64_t writes_before = vfs_.writes();
  DeviceOptions dopts;
  dopts.open.vfs = vfs_.name();
  dopts.open.exclusive_locking = true;
  std::unique_ptr<Device> device;
  EXPECT_EQ(Device::Open("newer.db", DeviceIdentity{"d1", "s1", "D1", "EUR"}, dopts, &device).code(),
            ErrorCode::kSchemaTooNew);
  HubOptions hopts;
  hopts.open = dopts.open;
  std::unique_ptr<Hub> hub;
  EXPECT_EQ(Hub::Open("newer.db", hopts, &hub).code(), ErrorCode::kSchemaTooNew);
  EXPECT_EQ(vfs_.writes(), writes_before);  // not even the device identity was written
}

TEST_F(MigrationsTest, AFailingMigrationLeavesTheDatabaseAtItsOldVersion) {
  auto db = Open();
  ASSERT_TRUE(Migrate(db.get(), kTwo).ok());
  std::vector<Migration> broken = kTwo;
  // Version 3 creates a table, then fails; version 4 would be fine. None of it may stick.
  broken.push_back({3, "003_broken", "CREATE TABLE notes (body TEXT); INSERT INTO no_such_table VALUES (1);"});
  broken.push_back({4, "004_more", "CREATE TABLE more (x);"});
  Status s = Migrate(db.get(), broken);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("003_broken"), std::string::npos) << s.message();
  EXPECT_EQ(Version(db.get()), 2);
  EXPECT_FALSE(HasTable(db.get(), "notes"));
  EXPECT_FALSE(HasTable(db.get(), "more"));
  // And a later, fixed build still upgrades it.
  broken[2].sql = "CREATE TABLE notes (body TEXT);";
  ASSERT_TRUE(Migrate(db.get(), broken).ok());
  EXPECT_EQ(Version(db.get()), 4);
  EXPECT_TRUE(HasTable(db.get(), "notes"));
}

TEST_F(MigrationsTest, AFailureInTheFirstUpgradeLeavesAnEmptyDatabaseEmpty) {
  auto db = Open();
  std::vector<Migration> broken = {kTwo[0], {2, "002_bad", "INSERT INTO items (nope) VALUES (1);"}};
  EXPECT_FALSE(Migrate(db.get(), broken).ok());
  EXPECT_EQ(Version(db.get()), 0);
  EXPECT_FALSE(HasTable(db.get(), "items"));  // migration 1 rolled back with 2
}

TEST_F(MigrationsTest, EmbeddedMigrationsAreNumberedFromOneWithoutGaps) {
  const std::vector<Migration>& all = EmbeddedMigrations();
  ASSERT_FALSE(all.empty());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].version, int(i) + 1) << all[i].name;
  EXPECT_EQ(LatestSchemaVersion(), all.back().version);
  auto db = Open();
  ASSERT_TRUE(Migrate(db.get()).ok());
  EXPECT_EQ(Version(db.get()), LatestSchemaVersion());
}

}  // namespace
}  // namespace tillsync
