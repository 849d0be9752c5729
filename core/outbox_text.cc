#include "core/outbox_text.h"

#include "core/json_reader.h"

namespace tillsync {
namespace {

// One bit per value a device restores. The values are fixed forever: stored rows carry them.
enum class Source { kShop, kDevice, kWall };
struct Restorable {
  const char* key;
  int bit;
  Source source;
};
constexpr Restorable kRestorable[] = {
    {"shop_id", 1, Source::kShop},
    {"origin_shop_id", 2, Source::kShop},
    {"last_modified_shop_id", 4, Source::kShop},
    {"last_modified_at", 8, Source::kWall},
    {"device_id", 16, Source::kDevice},  // a sale's till
};
constexpr int kAllBits = 31;
constexpr const char* kMaskKey = "restore";

// Only a value of the same JSON type is left out: a restored value must dump to the same bytes
// (an integer wall time, never a float equal to it).
int BitOf(const std::string& key, const Json& v, const Operation& op, const OutboxWriter& writer) {
  for (const Restorable& r : kRestorable) {
    if (key != r.key) continue;
    if (r.source == Source::kWall) return v.is_number_integer() && v.get<int64_t>() == op.wall_ms ? r.bit : 0;
    const std::string& source = r.source == Source::kShop ? writer.shop_id : writer.device_id;
    return v.is_string() && v.get_ref<const std::string&>() == source ? r.bit : 0;
  }
  return 0;
}

}  // namespace

std::string OutboxText(const Operation& op, const OutboxWriter& writer) {
  // The layout of OperationText (nlohmann's sorted key order), plus the mask after "id".
  std::string out;
  out.reserve(256 + 120 * op.changes.size());
  out += "{\"changes\":[";
  for (size_t i = 0; i < op.changes.size(); ++i) {
    const Change& c = op.changes[i];
    if (i > 0) out.push_back(',');
    out.push_back('{');
    if (c.base_version >= 0) {
      out += "\"base_version\":";
      out += std::to_string(c.base_version);
      out.push_back(',');
    }
    out += "\"id\":";
    AppendJsonString(c.id, &out);
    std::string values = "{";
    int mask = 0;
    if (c.values.is_object()) {
      for (auto it = c.values.begin(); it != c.values.end(); ++it) {
        const int bit = BitOf(it.key(), *it, op, writer);
        if (bit != 0) {
          mask |= bit;
          continue;
        }
        if (values.size() > 1) values.push_back(',');
        AppendJsonString(it.key(), &values);
        values.push_back(':');
        AppendJson(*it, &values);
      }
      values.push_back('}');
    } else {
      values.clear();
      AppendJson(c.values, &values);  // not an object: stored as is (validation refuses it later)
    }
    if (mask != 0) {
      out += ",\"";
      out += kMaskKey;
      out += "\":";
      out += std::to_string(mask);
    }
    out += ",\"table\":";
    AppendJsonString(c.table, &out);
    out += ",\"values\":";
    out += values;
    out.push_back('}');
  }
  out += "],\"hlc\":";
  AppendJsonString(op.hlc, &out);
  out += ",\"seq\":";
  out += std::to_string(op.seq);
  out += ",\"wall\":";
  out += std::to_string(op.wall_ms);
  out.push_back('}');
  return out;
}

Status OperationFromOutboxText(std::string_view text, const OutboxWriter& writer, const std::string& path,
                               Operation* out) {
  Json j;
  TS_RETURN_IF_ERROR(ParseJson(text, &j));
  if (j.is_object() && j.contains("changes") && j["changes"].is_array()) {
    const Json wall = j.value("wall", Json());
    for (size_t i = 0; i < j["changes"].size(); ++i) {
      Json& c = j["changes"][i];
      if (!c.is_object() || !c.contains(kMaskKey)) continue;
      const Json& m = c[kMaskKey];
      const std::string field = path + ".changes[" + std::to_string(i) + "]." + kMaskKey;
      if (!m.is_number_integer() || m.get<int64_t>() < 1 || m.get<int64_t>() > kAllBits)
        return Status(ErrorCode::kBadRequest, field + " must be an integer from 1 to " + std::to_string(kAllBits));
      const int mask = int(m.get<int64_t>());
      if (!c.contains("values") || !c["values"].is_object())
        return Status(ErrorCode::kBadRequest, path + ".changes[" + std::to_string(i) + "].values must be an object");
      if ((mask & 8) != 0 && !wall.is_number_integer())
        return Status(ErrorCode::kBadRequest, path + ".wall must be an integer");
      Json& values = c["values"];
      for (const Restorable& r : kRestorable) {
        if ((mask & r.bit) == 0) continue;
        if (values.contains(r.key)) return Status(ErrorCode::kBadRequest, field + " restores " + r.key + ", which is present");
        values[r.key] = r.source == Source::kWall ? wall
                        : Json(r.source == Source::kShop ? writer.shop_id : writer.device_id);
      }
      c.erase(kMaskKey);
    }
  }
  return OperationFromJson(j, path, out);
}

}  // namespace tillsync
