// SqlRows: C++ rows read by one statement as tillsync_rows(?). The rows come out in the source's
// order with their types; a failing source fails the statement; SQL that names the function
// without a bound source gets an error, never a read of a forged pointer.
#include "core/sql_rows.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/sync_helpers.h"

namespace tillsync {
namespace {

using test_support::QueryRowsText;

// Rows of (integer, text, null, real) cells; fails at row `fail_at` when it is set.
class ListSource : public SqlRowSource {
 public:
  explicit ListSource(std::vector<std::vector<SqlCell>> rows, size_t fail_at = size_t(-1))
      : rows_(std::move(rows)), fail_at_(fail_at) {}
  bool Next() override {
    ++at_;
    if (at_ == fail_at_) failed_ = true;
    return !failed_ && at_ < rows_.size();
  }
  bool failed() const override { return failed_; }
  SqlCell Cell(int column) const override {
    return size_t(column) < rows_[at_].size() ? rows_[at_][size_t(column)] : SqlCell();
  }
  size_t reads() const { return at_ + 1; }

 private:
  std::vector<std::vector<SqlCell>> rows_;
  size_t fail_at_;
  size_t at_ = size_t(-1);
  bool failed_ = false;
};

SqlCell Int(int64_t v) {
  SqlCell c;
  c.kind = SqlCell::Kind::kInt;
  c.integer = v;
  return c;
}
SqlCell Text(std::string_view v) {
  SqlCell c;
  c.kind = SqlCell::Kind::kText;
  c.text = v;
  return c;
}
SqlCell Real(double v) {
  SqlCell c;
  c.kind = SqlCell::Kind::kReal;
  c.real = v;
  return c;
}

class SqlRowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OpenOptions o;
    o.journal_mode = "";
    ASSERT_TRUE(Database::Open(":memory:", o, &db_).ok());
    ASSERT_TRUE(db_->Exec("CREATE TABLE t (a INTEGER, b TEXT NOT NULL, c, d REAL)").ok());
  }
  std::unique_ptr<Database> db_;
};

TEST_F(SqlRowsTest, AnInsertReadsEveryRowInOrderWithItsTypes) {
  ListSource source({{Int(1), Text("one"), SqlCell(), Real(1.5)},
                     {Int(-2), Text(std::string_view("t\0wo", 4)), Text("x"), Real(0)},
                     {Int(3), Text("")}});  // a short row: its missing cells are NULL
  Statement insert;
  ASSERT_TRUE(db_->Prepare("INSERT INTO t (a, b, c, d) SELECT c0, c1, c2, c3 FROM tillsync_rows(?1)", &insert).ok());
  ASSERT_TRUE(BindSqlRows(&insert, 1, &source).ok());
  Status s = insert.Run();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(db_->Changes(), 3);
  EXPECT_EQ(QueryRowsText(db_.get(), "SELECT a, typeof(a), length(CAST(b AS BLOB)), typeof(c), d, typeof(d) FROM t ORDER BY rowid"),
            QueryRowsText(db_.get(), "VALUES (1, 'integer', 3, 'null', 1.5, 'real'), (-2, 'integer', 4, 'text', 0.0, 'real'),"
                                     " (3, 'integer', 0, 'null', NULL, 'null')"));
  // Columns past the source's widest row, up to the last, read as NULL too.
  ListSource again({{Int(7)}});
  Statement select;
  ASSERT_TRUE(db_->Prepare("SELECT c0, c63 IS NULL FROM tillsync_rows(?1)", &select).ok());
  ASSERT_TRUE(BindSqlRows(&select, 1, &again).ok());
  bool row = false;
  ASSERT_TRUE(select.Step(&row).ok());
  ASSERT_TRUE(row);
  EXPECT_EQ(select.Int(0), 7);
  EXPECT_EQ(select.Int(1), 1);
  ASSERT_TRUE(select.Step(&row).ok());
  EXPECT_FALSE(row);
}

TEST_F(SqlRowsTest, AnEmptySourceInsertsNothing) {
  ListSource source({});
  Statement insert;
  ASSERT_TRUE(db_->Prepare("INSERT INTO t (a, b) SELECT c0, c1 FROM tillsync_rows(?1)", &insert).ok());
  ASSERT_TRUE(BindSqlRows(&insert, 1, &source).ok());
  ASSERT_TRUE(insert.Run().ok());
  EXPECT_EQ(db_->Changes(), 0);
}

TEST_F(SqlRowsTest, AFailingSourceFailsTheStatement) {
  ListSource source({{Int(1), Text("one")}, {Int(2), Text("two")}, {Int(3), Text("three")}}, 1);
  Statement insert;
  ASSERT_TRUE(db_->Prepare("INSERT INTO t (a, b) SELECT c0, c1 FROM tillsync_rows(?1)", &insert).ok());
  ASSERT_TRUE(BindSqlRows(&insert, 1, &source).ok());
  Status s = insert.Run();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(source.reads(), 2u);  // stopped at the failure, the third row never read
}

TEST_F(SqlRowsTest, TheFunctionWithoutABoundSourceIsAnError) {
  Statement select;
  ASSERT_TRUE(db_->Prepare("SELECT c0 FROM tillsync_rows(?1)", &select).ok());
  select.Bind(1, std::string_view("not a source"));  // SQL cannot make a pointer of a value
  bool row = false;
  EXPECT_FALSE(select.Step(&row).ok());
  select.Reset();
  Statement unbound;
  ASSERT_TRUE(db_->Prepare("SELECT c0 FROM tillsync_rows(?1)", &unbound).ok());
  EXPECT_FALSE(unbound.Step(&row).ok());
  // And without an argument there is no plan at all.
  Statement no_argument;
  EXPECT_FALSE(db_->Prepare("SELECT c0 FROM tillsync_rows", &no_argument).ok());
}

}  // namespace
}  // namespace tillsync
