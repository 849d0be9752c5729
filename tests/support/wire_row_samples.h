// Wire rows that more than one codec test puts on a page (the protocol codec and the pull page
// scanner must agree on them).
#ifndef TILLSYNC_TESTS_SUPPORT_WIRE_ROW_SAMPLES_H_
#define TILLSYNC_TESTS_SUPPORT_WIRE_ROW_SAMPLES_H_

#include <cstdint>
#include <string>

#include "core/protocol.h"

namespace tillsync {
namespace test_support {

// Customer c1 of shop s1 (a shop-scoped row between catalog rows), every column under `clock`,
// at version 4 and hub sequence `seq`.
inline WireRow SampleCustomerRow(const std::string& clock, int64_t seq = 14) {
  WireRow customer;
  customer.table = "customers";
  customer.id = "c1";
  customer.values = Json{{"shop_id", "s1"}, {"name", "Ann"}, {"phone", "111"}, {"email", nullptr}, {"notes", nullptr}};
  customer.clocks = Json{{"*", clock}};
  customer.version = 4;
  customer.seq = seq;
  return customer;
}

}  // namespace test_support
}  // namespace tillsync

#endif  // TILLSYNC_TESTS_SUPPORT_WIRE_ROW_SAMPLES_H_
