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
  // OperationText's layout, each change's values without what the device restores, and the
  // mask naming what was left out ("restore" sorts between "id" and "table").
  return OperationTextWith(op, [&](const Change& c, std::string* keys_after_id, std::string* values) {
    if (!c.values.is_object()) {
      AppendJson(c.values, values);  // not an object: stored as is (validation refuses it later)
      return;
    }
    int mask = 0;
    values->push_back('{');
    for (auto it = c.values.begin(); it != c.values.end(); ++it) {
      const int bit = BitOf(it.key(), *it, op, writer);
      if (bit != 0) {
        mask |= bit;
        continue;
      }
      if (values->size() > 1) values->push_back(',');
      AppendJsonString(it.key(), values);
      values->push_back(':');
      AppendJson(*it, values);
    }
    values->push_back('}');
    if (mask != 0) {
      *keys_after_id += ",\"";
      *keys_after_id += kMaskKey;
      *keys_after_id += "\":";
      *keys_after_id += std::to_string(mask);
    }
  });
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
