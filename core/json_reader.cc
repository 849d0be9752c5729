#include "core/json_reader.h"

#include <charconv>
#include <cstring>

namespace tillsync {

Status ParseJson(std::string_view text, Json* out) {
  // What Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false) does, minus
  // its branch for a parser callback: that branch is chosen at run time, so Json::parse compiles
  // nlohmann's callback DOM parser in beside the plain one although no callback is ever passed
  // (10 KB of .wasm, session 9). Strict (the whole text must be one value); with
  // allow_exceptions=false malformed input marks the DOM parser errored instead of throwing.
  using Adapter = nlohmann::detail::iterator_input_adapter<const char*>;
  Json parsed;
  nlohmann::detail::json_sax_dom_parser<Json> dom(parsed, /*allow_exceptions=*/false);
  nlohmann::detail::parser<Json, Adapter>(Adapter(text.data(), text.data() + text.size()), nullptr,
                                          /*allow_exceptions_=*/false, /*skip_comments=*/false)
      .sax_parse(&dom, /*strict=*/true);
  if (dom.is_errored()) return Status(ErrorCode::kBadJson, "body is not valid JSON");
  *out = std::move(parsed);
  return Status::Ok();
}

std::string DumpJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

namespace {

// The bytes a JSON string cannot hold as they are (controls, '"', '\\') or that nlohmann writes
// its own way (non-ASCII): one table lookup per byte in the scan below.
struct CarefulBytes {
  bool careful[256] = {};
  constexpr CarefulBytes() {
    for (int c = 0; c < 0x20; ++c) careful[c] = true;
    for (int c = 0x80; c < 256; ++c) careful[c] = true;
    careful[int('"')] = careful[int('\\')] = true;
  }
};
constexpr CarefulBytes kCareful;

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  // Nearly every string written (keys, ids, names) needs no escape and is ASCII: one scan that
  // finds nothing, then one append of the quoted bytes (about 120 strings a sale, nearly all short;
  // three appends cost more than the scan). Anything else takes the careful path below.
  size_t clean = 0;
  while (clean < s.size() && !kCareful.careful[static_cast<unsigned char>(s[clean])]) ++clean;
  if (clean == s.size()) {
    char quoted[96];
    if (s.size() + 2 <= sizeof quoted) {
      quoted[0] = '"';
      std::memcpy(quoted + 1, s.data(), s.size());
      quoted[s.size() + 1] = '"';
      out->append(quoted, s.size() + 2);
    } else {
      out->push_back('"');
      out->append(s.data(), s.size());
      out->push_back('"');
    }
    return;
  }
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    if (c >= 0x80) {
      // Multi-byte UTF-8 (and invalid bytes, which DumpJson replaces): nlohmann decides.
      *out += Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
      return;
    }
  }
  out->push_back('"');
  size_t plain_from = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + plain_from, i - plain_from);
    plain_from = i + 1;
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\b': *out += "\\b"; break;
      case '\f': *out += "\\f"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:  // other control characters: \u00XX, lower-case hex as nlohmann writes them
        *out += "\\u00";
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(s.data() + plain_from, s.size() - plain_from);
  out->push_back('"');
}

void AppendJson(const Json& value, std::string* out) {
  switch (value.type()) {
    case Json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(it.key(), out);
        out->push_back(':');
        AppendJson(*it, out);
      }
      out->push_back('}');
      return;
    }
    case Json::value_t::array: {
      out->push_back('[');
      for (size_t i = 0; i < value.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJson(value[i], out);
      }
      out->push_back(']');
      return;
    }
    case Json::value_t::string:
      AppendJsonString(value.get_ref<const std::string&>(), out);
      return;
    case Json::value_t::number_integer: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, value.get<int64_t>());
      out->append(buf, r.ptr);
      return;
    }
    case Json::value_t::number_unsigned: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, value.get<uint64_t>());
      out->append(buf, r.ptr);
      return;
    }
    case Json::value_t::null: *out += "null"; return;
    case Json::value_t::boolean: *out += value.get<bool>() ? "true" : "false"; return;
    default:  // floats, binary, discarded: rare here, and their text is nlohmann's business
      *out += DumpJson(value);
      return;
  }
}

Status JsonReader::ExpectObject(std::initializer_list<const char*> allowed) const {
  if (!obj_.is_object())
    return Status(ErrorCode::kBadRequest, (path_.empty() ? "body" : path_) + " must be an object");
  for (auto it = obj_.begin(); it != obj_.end(); ++it) {
    bool known = false;
    for (const char* a : allowed)
      if (it.key() == a) known = true;
    if (!known) return Status(ErrorCode::kBadRequest, "unknown field " + Path(it.key().c_str()));
  }
  return Status::Ok();
}

bool JsonReader::Has(const char* key) const {
  return obj_.is_object() && obj_.find(key) != obj_.end();
}

Status JsonReader::OptionalInt(const char* key, int64_t* out, bool* present) const {
  *present = false;
  auto it = obj_.find(key);
  if (it == obj_.end()) return Status::Ok();
  if (!it->is_number_integer())
    return Status(ErrorCode::kBadRequest, Path(key) + " must be an integer");
  if (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX))
    return Status(ErrorCode::kBadRequest, Path(key) + " is out of range");
  *out = it->get<int64_t>();
  *present = true;
  return Status::Ok();
}

Status JsonReader::Int(const char* key, int64_t* out) const {
  bool present = false;
  TS_RETURN_IF_ERROR(OptionalInt(key, out, &present));
  if (!present) return Status(ErrorCode::kBadRequest, "missing field " + Path(key));
  return Status::Ok();
}

Status JsonReader::String(const char* key, std::string* out, size_t max_len) const {
  auto it = obj_.find(key);
  if (it == obj_.end()) return Status(ErrorCode::kBadRequest, "missing field " + Path(key));
  if (!it->is_string()) return Status(ErrorCode::kBadRequest, Path(key) + " must be a string");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.size() > max_len)
    return Status(ErrorCode::kBadValue, Path(key) + " is longer than " + std::to_string(max_len));
  *out = s;
  return Status::Ok();
}

Status JsonReader::Bool(const char* key, bool* out, bool* present) const {
  *present = false;
  auto it = obj_.find(key);
  if (it == obj_.end()) return Status::Ok();
  if (!it->is_boolean()) return Status(ErrorCode::kBadRequest, Path(key) + " must be true or false");
  *out = it->get<bool>();
  *present = true;
  return Status::Ok();
}

Status JsonReader::Array(const char* key, const Json** out, size_t max_items) const {
  auto it = obj_.find(key);
  if (it == obj_.end()) return Status(ErrorCode::kBadRequest, "missing field " + Path(key));
  if (!it->is_array()) return Status(ErrorCode::kBadRequest, Path(key) + " must be an array");
  if (it->size() > max_items)
    return Status(ErrorCode::kTooLarge,
                  Path(key) + " has more than " + std::to_string(max_items) + " items");
  *out = &*it;
  return Status::Ok();
}

Status JsonReader::Object(const char* key, const Json** out) const {
  auto it = obj_.find(key);
  if (it == obj_.end()) return Status(ErrorCode::kBadRequest, "missing field " + Path(key));
  if (!it->is_object()) return Status(ErrorCode::kBadRequest, Path(key) + " must be an object");
  *out = &*it;
  return Status::Ok();
}

}  // namespace tillsync
