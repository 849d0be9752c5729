// KvTable: the small named values a database keeps in _ts_kv: identity, sequence counters, the
// hybrid clock, the pull cursor, sync statistics. Shared by the hub and the device so both read
// and write them the same way. Values are text; integers are stored as their decimal text.
// Functions over a borrowed Database; they run inside the caller's transaction, if any.
#pragma once

#include <cstdint>
#include <string>

#include "core/database.h"

namespace tillsync {

Status KvGet(Database* db, const char* key, std::string* out, bool* found);
Status KvPut(Database* db, const char* key, const std::string& value);
// The integer under `key`, 0 when absent.
Status KvInt(Database* db, const char* key, int64_t* out);
Status KvAdd(Database* db, const char* key, int64_t delta);

}  // namespace tillsync
