#include "core/kv_table.h"

namespace tillsync {

Status KvGet(Database* db, const char* key, std::string* out, bool* found) {
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db->Cached("SELECT value FROM _ts_kv WHERE key=?1", &st));
  st->Bind(1, std::string_view(key));
  bool row = false;
  TS_RETURN_IF_ERROR(st->Step(&row));
  *found = row;
  if (row) *out = st->Text(0);
  st->Reset();
  return Status::Ok();
}

Status KvPut(Database* db, const char* key, const std::string& value) {
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db->Cached("INSERT OR REPLACE INTO _ts_kv (key, value) VALUES (?1, ?2)", &st));
  st->Bind(1, std::string_view(key)).Bind(2, value);
  return st->Run();
}

Status KvInt(Database* db, const char* key, int64_t* out) {
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db->Cached("SELECT CAST(value AS INTEGER) FROM _ts_kv WHERE key=?1", &st));
  st->Bind(1, std::string_view(key));
  bool row = false;
  TS_RETURN_IF_ERROR(st->Step(&row));
  *out = row ? st->Int(0) : 0;
  st->Reset();
  return Status::Ok();
}

Status KvAdd(Database* db, const char* key, int64_t delta) {
  int64_t v = 0;
  TS_RETURN_IF_ERROR(KvInt(db, key, &v));
  return KvPut(db, key, std::to_string(v + delta));
}

}  // namespace tillsync
