#include "core/database.h"

#include <gtest/gtest.h>

#include "tests/support/fault_vfs.h"
#include "tests/support/sync_helpers.h"

namespace tillsync {
namespace {

// The settings a Database opens with reach SQLite; a zero checkpoint threshold leaves SQLite's.
TEST(DatabaseTest, OpenOptionsReachTheConnection) {
  FaultVfs vfs("database-test-vfs");
  OpenOptions o;
  o.vfs = vfs.name();
  o.exclusive_locking = true;
  o.wal_autocheckpoint_pages = 2000;
  std::unique_ptr<Database> db;
  ASSERT_TRUE(Database::Open("settings.db", o, &db).ok());
  EXPECT_EQ(test_support::QueryRowsText(db.get(), "PRAGMA journal_mode"), "wal|\n");
  EXPECT_EQ(test_support::QueryInt(db.get(), "PRAGMA synchronous"), 2);
  EXPECT_EQ(test_support::QueryRowsText(db.get(), "PRAGMA locking_mode"), "exclusive|\n");
  EXPECT_EQ(test_support::QueryInt(db.get(), "PRAGMA wal_autocheckpoint"), 2000);

  OpenOptions plain;
  plain.vfs = vfs.name();
  std::unique_ptr<Database> other;
  ASSERT_TRUE(Database::Open("plain.db", plain, &other).ok());
  EXPECT_EQ(test_support::QueryInt(other.get(), "PRAGMA wal_autocheckpoint"), 1000);  // SQLite's default
}

}  // namespace
}  // namespace tillsync
