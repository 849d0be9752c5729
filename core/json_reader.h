// JsonReader: checked access to parsed JSON. The core is built without exceptions, where
// nlohmann/json aborts on a type error instead of throwing; so no core code calls get<>() or
// at() on untrusted JSON. It asks JsonReader, which checks the type first and turns every
// mismatch into a Status naming the field path ("ops[3].changes[0].values.qty").
// Also the canonical text encoder: keys sorted (nlohmann's default map), no spaces, invalid
// UTF-8 replaced rather than aborting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace tillsync {

using Json = nlohmann::json;

// Parses text; malformed text is kBadJson (never an abort).
Status ParseJson(std::string_view text, Json* out);
// Canonical, compact text: equal values give equal bytes.
std::string DumpJson(const Json& value);
// Appends exactly the bytes DumpJson(value) returns, without nlohmann's serializer: the write
// path encodes and hashes every row of every sale, and this is several times faster (no output
// adapter, no per-byte UTF-8 state machine for plain ASCII). Stored hashes and queued
// operations were made by DumpJson, so the two must never differ; json_reader_test holds them
// to that, and anything unusual (floats, non-ASCII text) is handed to nlohmann itself.
void AppendJson(const Json& value, std::string* out);
// Appends a string as DumpJson would encode it, quotes included.
void AppendJsonString(std::string_view s, std::string* out);

class JsonReader {
 public:
  JsonReader(const Json& object, std::string path) : obj_(object), path_(std::move(path)) {}

  // Fails unless the value at this reader is an object whose keys are all in `allowed`.
  Status ExpectObject(std::initializer_list<const char*> allowed) const;

  Status Int(const char* key, int64_t* out) const;           // required integer
  Status OptionalInt(const char* key, int64_t* out, bool* present) const;
  Status String(const char* key, std::string* out, size_t max_len) const;
  Status Bool(const char* key, bool* out, bool* present) const;
  Status Array(const char* key, const Json** out, size_t max_items) const;
  Status Object(const char* key, const Json** out) const;
  bool Has(const char* key) const;

  std::string Path(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

 private:
  const Json& obj_;
  std::string path_;
};

}  // namespace tillsync
