// A sale's rows written as typed cells against the JSON write path they replace: the same rows,
// hashes, checksums, outbox text and errors, byte for byte.
//
// The golden digest below was taken from main `f4d53ad`, where RecordSale built its eight rows
// as nlohmann objects and wrote them through the generic write path (Device::WriteInTxn); the
// transcript it digests holds every stored outbox text, the canonical dump, the checksum and
// every refusal's code and message. A change to any of them fails this test, and the test
// prints the transcript so the difference can be read.

#include <gtest/gtest.h>

#include "core/device.h"
#include "core/fnv_hash.h"
#include "core/outbox_text.h"
#include "tests/support/fault_vfs.h"
#include "tests/support/sync_helpers.h"

namespace tillsync {
namespace {

using test_support::QueryInt;
using test_support::Sale;

constexpr int64_t kT0 = 1'700'000'000'000;

// A clock that moves one millisecond on every reading: a sale's created_at (read first) then
// differs from its operation's wall time, so the outbox text keeps created_at instead of leaving
// it out. ManualEnv's still clock covers the other case.
class SteppingEnv : public Env {
 public:
  int64_t NowMillis() override { return now_++; }
  uint64_t Random64() override { return inner_.Random64(); }

 private:
  int64_t now_ = kT0;
  ManualEnv inner_{kT0, 9};
};

class TypedChangeTest : public ::testing::Test {
 protected:
  std::unique_ptr<Device> Open(const std::string& file, Env* env, DeviceIdentity identity) {
    DeviceOptions o;
    o.env = env;
    o.open.vfs = vfs_.name();
    o.open.exclusive_locking = true;
    std::unique_ptr<Device> d;
    Status s = Device::Open(file, identity, o, &d);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return d;
  }
  // The local catalog the sales price from, written as the device's own catalog edits.
  static void WriteCatalog(Device* d) {
    auto product = [](const char* id, const char* name, int64_t price, int64_t tax_bp, int active = 1) {
      return Change{"products", id,
                    Json{{"name", name}, {"price_minor", price}, {"tax_rate_bp", tax_bp}, {"active", active}}};
    };
    WriteResult w;
    ASSERT_TRUE(d->Write({product("coffee", "Coffee", 250, 2000), product("bun", "Bun", 105, 1000),
                          product("odd", "Caf\xC3\xA9 \"Cr\xC3\xA8me\" \\ 1/2\t", 333, 1750),
                          product("free", "Water jug", 0, 2000), product("old", "Old cake", 300, 2000, 0)},
                         &w)
                    .ok());
  }
  // Every outbox row (seq and stored text), the canonical dump and the local checksum.
  static std::string Transcript(Device* d) {
    std::string out;
    Statement st;
    EXPECT_TRUE(d->db()->Prepare("SELECT seq, op FROM _ts_outbox ORDER BY seq", &st).ok());
    bool row = false;
    while (st.Step(&row).ok() && row) out += std::to_string(st.Int(0)) + " " + st.Text(1) + "\n";
    std::string dump;
    EXPECT_TRUE(d->CanonicalDump(&dump).ok());
    uint64_t sum = 0;
    EXPECT_TRUE(d->LocalChecksum(&sum).ok());
    return out + dump + "checksum " + std::to_string(sum) + "\n";
  }
  static std::string Outcome(const Status& s, const SaleResult& r) {
    if (!s.ok()) return std::string("error ") + s.code_name() + " " + s.message() + "\n";
    return "sale " + r.order_id + " " + r.receipt_no + " " + std::to_string(r.subtotal_minor) + " " +
           std::to_string(r.tax_minor) + " " + std::to_string(r.total_minor) + " " + std::to_string(r.change_minor) +
           " " + std::to_string(r.seq) + " " + std::to_string(r.created_at) + "\n";
  }
  // The sales (and refusals) of the golden transcript, on a device with a fixed identity.
  std::string RecordTheSales(Env* env, const std::string& file) {
    auto d = Open(file, env, DeviceIdentity{"till-a", "shop-1", "A1", "EUR"});
    if (d == nullptr) return "";
    WriteCatalog(d.get());
    std::string out;
    auto record = [&](const SaleInput& sale) {
      SaleResult r;
      Status s = d->RecordSale(sale, &r);
      out += Outcome(s, r);
    };
    record(Sale({{"coffee", 2}, {"bun", 1}}));
    SaleInput mixed = Sale({{"odd", 3}, {"free", 1}, {"coffee", 1}},
                           {PaymentInput{"card", 100, -1}, PaymentInput{"cash", -1, 5000}});
    mixed.customer_id = "cust-7";
    record(mixed);
    SaleInput chosen = Sale({{"bun", 4}});
    chosen.order_id = "order-x1";  // a caller's id: kept in full in the outbox text
    record(chosen);
    record(chosen);  // a retry: the sale already recorded, nothing written
    SaleInput minted_look = Sale({{"coffee", 1}}, {PaymentInput{"other", -1, -1}});
    minted_look.order_id = "till-a-zz";  // looks minted: stored without the device prefix
    record(minted_look);
    // Refusals: each value check the sale's rows get, and two at once (the first in key order).
    SaleInput bad_customer = Sale({{"coffee", 1}});
    bad_customer.customer_id = "no spaces";
    record(bad_customer);
    SaleInput long_customer = Sale({{"coffee", 1}});
    long_customer.customer_id = std::string(65, 'c');
    record(long_customer);
    record(Sale({{"old", 1}}));
    record(Sale({{"nope", 1}}));
    record(Sale({{"coffee", 0}}));
    record(Sale({{"coffee", 1}}, {PaymentInput{"card", 1, -1}}));
    EXPECT_TRUE(d->db()->Exec("UPDATE products SET name='' WHERE id='bun'").ok());
    record(Sale({{"bun", 1}}));
    EXPECT_TRUE(d->db()->Exec("UPDATE products SET name='Bun' WHERE id='bun'").ok());
    record(Sale({{"coffee", 5}, {"bun", 2}}));  // after the refusals: the next receipt number
    WriteResult w;
    EXPECT_TRUE(d->VoidSale("order-x1", &w).ok());
    out += Transcript(d.get());
    d.reset();
    return out;
  }

  FaultVfs vfs_{"typed-change-test-vfs"};
};

TEST_F(TypedChangeTest, SalesStoreTheSameRowsOutboxTextAndErrorsAsTheJsonWritePath) {
  ManualEnv still{kT0, 5};
  SteppingEnv stepping;
  const std::string still_text = RecordTheSales(&still, "still.db");
  const std::string stepping_text = RecordTheSales(&stepping, "stepping.db");
  // created_at equal to the wall time is left out of the text at a still clock and kept at a
  // moving one: both forms are covered.
  EXPECT_NE(still_text.find("\"restore\":"), std::string::npos);
  EXPECT_NE(stepping_text.find("\"created_at\":"), std::string::npos);
  EXPECT_EQ(Fnv1a64(still_text), 0x05a92297b7676825ull) << still_text;
  EXPECT_EQ(Fnv1a64(stepping_text), 0xd88df4665bae5958ull) << stepping_text;
}

}  // namespace
}  // namespace tillsync
