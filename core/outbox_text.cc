#include "core/outbox_text.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/json_reader.h"

namespace tillsync {
namespace {

// One bit per value a device restores. The values are fixed forever: stored rows carry them.
//   kShop, kDevice, kWall: the value is left out; it equals the writer's shop id, device id or
//                          the operation's wall time.
//   kMintedId:             the value is kept without its "<device id>-" prefix (ids this device
//                          minted: the row ids of a sale, and its lines' and movements' order).
enum class Source { kShop, kDevice, kWall, kMintedId };
struct Restorable {
  std::string_view key;  // a view, so a key is compared by length first (about 50 keys a sale)
  int bit;
  Source source;
};
constexpr Restorable kRestorable[] = {
    {"shop_id", 1, Source::kShop},
    {"origin_shop_id", 2, Source::kShop},
    {"last_modified_shop_id", 4, Source::kShop},
    {"last_modified_at", 8, Source::kWall},
    {"device_id", 16, Source::kDevice},  // a sale's till
    {"order_id", 64, Source::kMintedId},
    {"ref_id", 128, Source::kMintedId},
    {"created_at", 256, Source::kWall},
};
// The change's own id, kept without the minted-id prefix.
constexpr int kIdBit = 32;
constexpr int kAllBits = 511;
constexpr const char* kMaskKey = "restore";
// An hlc stored ending in '.' (a complete one never does: it ends with its node) leaves out its
// node, the writer's device id.
constexpr char kNodeLeftOut = '.';

// The part of `id` after "<device id>-", or empty when `id` has no such prefix (or nothing after it).
std::string_view MintedSuffix(std::string_view id, const std::string& device_id) {
  if (id.size() <= device_id.size() + 1 || id.compare(0, device_id.size(), device_id) != 0 || id[device_id.size()] != '-')
    return std::string_view();
  return id.substr(device_id.size() + 1);
}

// The restorable entry of `key` whose rule the value meets, or nullptr; the value as its kind,
// number and text (a Json value's or a typed cell's). Only a value of the same JSON type is left
// out or shortened: a restored value must dump to the same bytes (an integer wall time, never a
// float equal to it).
const Restorable* RuleFor(std::string_view key, ColumnValue::Kind kind, int64_t number, std::string_view text,
                          int64_t wall_ms, const OutboxWriter& writer) {
  for (const Restorable& r : kRestorable) {
    if (key != r.key) continue;
    switch (r.source) {
      case Source::kWall:
        return kind == ColumnValue::Kind::kInt && number == wall_ms ? &r : nullptr;
      case Source::kMintedId:
        return kind == ColumnValue::Kind::kText && !MintedSuffix(text, writer.device_id).empty() ? &r : nullptr;
      case Source::kShop:
      case Source::kDevice: {
        const std::string& source = r.source == Source::kShop ? writer.shop_id : writer.device_id;
        return kind == ColumnValue::Kind::kText && text == source ? &r : nullptr;
      }
    }
  }
  return nullptr;
}

const Restorable* RuleFor(const std::string& key, const Json& v, const Operation& op, const OutboxWriter& writer) {
  if (v.is_number_integer()) return RuleFor(key, ColumnValue::Kind::kInt, v.get<int64_t>(), {}, op.wall_ms, writer);
  if (v.is_string()) return RuleFor(key, ColumnValue::Kind::kText, 0, v.get_ref<const std::string&>(), op.wall_ms, writer);
  return RuleFor(key, ColumnValue::Kind::kNull, 0, {}, op.wall_ms, writer);
}

// The hlc as stored: without its node when the node is the writer (it keeps the '.').
std::string_view StoredHlc(std::string_view hlc, const OutboxWriter& writer) {
  const std::string& node = writer.device_id;
  if (hlc.size() > node.size() + 1 && hlc.compare(hlc.size() - node.size(), node.size(), node) == 0 &&
      hlc[hlc.size() - node.size() - 1] == '.')
    return hlc.substr(0, hlc.size() - node.size());
  return hlc;
}

// The mask key ("restore" sorts between "id" and "table") as the text OperationTextWith puts
// after the id, written into `buf`; empty for no mask.
std::string_view MaskKeyText(int mask, char (&buf)[32]) {
  if (mask == 0) return std::string_view();
  constexpr std::string_view kKey = ",\"restore\":";
  std::memcpy(buf, kKey.data(), kKey.size());
  const auto r = std::to_chars(buf + kKey.size(), buf + sizeof buf, mask);
  return std::string_view(buf, size_t(r.ptr - buf));
}

}  // namespace

std::string OutboxText(const Operation& op, const OutboxWriter& writer) {
  const std::string_view hlc = StoredHlc(op.hlc, writer);
  // OperationText's layout, each change's values without what the device restores, and the
  // mask naming what was left out.
  return OperationTextWith(op, hlc, [&](const Change& c, std::string_view* id, std::string* keys_after_id,
                                        std::string* values) {
    int mask = 0;
    const std::string_view id_suffix = MintedSuffix(c.id, writer.device_id);
    if (!id_suffix.empty()) {
      mask |= kIdBit;
      *id = id_suffix;
    }
    if (!c.values.is_object()) {
      AppendJson(c.values, values);  // not an object: stored as is (validation refuses it later)
    } else {
      values->push_back('{');
      for (auto it = c.values.begin(); it != c.values.end(); ++it) {
        const Restorable* rule = RuleFor(it.key(), *it, op, writer);
        if (rule != nullptr) mask |= rule->bit;
        if (rule != nullptr && rule->source != Source::kMintedId) continue;
        if (values->size() > 1) values->push_back(',');
        AppendJsonString(it.key(), values);
        values->push_back(':');
        if (rule != nullptr) AppendJsonString(MintedSuffix(it->get_ref<const std::string&>(), writer.device_id), values);
        else AppendJson(*it, values);
      }
      values->push_back('}');
    }
    char mask_text[32];
    *keys_after_id += MaskKeyText(mask, mask_text);
  });
}

std::string TypedOutboxText(const TypedOperation& op, const OutboxWriter& writer) {
  // OutboxText's text written straight from the cells: a Json object lists its keys sorted, so
  // the columns go in name order, and a null cell is a key the values lack. A change's mask
  // comes before its values in the text, so its rules are found first, then the values are
  // written in place (no values text built apart and copied).
  std::string out;
  out.reserve(256 + 200 * op.changes.size());
  out += kOperationTextStart;
  const Restorable* rules[TableSpec::kMaxColumns];
  for (size_t i = 0; i < op.changes.size(); ++i) {
    const TypedChange& c = op.changes[i];
    const TableSpec& spec = *c.spec;
    const size_t columns = std::min(spec.columns.size(), TableSpec::kMaxColumns);
    if (i > 0) out.push_back(',');
    int mask = 0;
    std::string_view id = c.id;
    const std::string_view id_suffix = MintedSuffix(c.id, writer.device_id);
    if (!id_suffix.empty()) {
      mask |= kIdBit;
      id = id_suffix;
    }
    for (size_t k = 0; k < columns; ++k) {
      const ColumnValue& v = c.cells[spec.columns_by_name[k]];
      rules[k] = v.kind == ColumnValue::Kind::kNull
                     ? nullptr
                     : RuleFor(spec.columns[spec.columns_by_name[k]].name, v.kind, v.number, v.text, op.wall_ms, writer);
      if (rules[k] != nullptr) mask |= rules[k]->bit;
    }
    char mask_text[32];
    AppendChangeHead(-1, id, MaskKeyText(mask, mask_text), spec.name, &out);
    out.push_back('{');
    bool first = true;
    for (size_t k = 0; k < columns; ++k) {
      const uint8_t col = spec.columns_by_name[k];
      const ColumnValue& v = c.cells[col];
      const Restorable* rule = rules[k];
      if (v.kind == ColumnValue::Kind::kNull || (rule != nullptr && rule->source != Source::kMintedId)) continue;
      if (!first) out.push_back(',');
      first = false;
      // Column names are the schema's identifiers: nothing in them to escape.
      out.push_back('"');
      out += spec.columns[col].name;
      out += "\":";
      if (rule != nullptr) {
        AppendJsonString(MintedSuffix(v.text, writer.device_id), &out);
      } else if (v.kind == ColumnValue::Kind::kInt) {
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof buf, v.number);
        out.append(buf, r.ptr);
      } else {
        AppendJsonString(v.text, &out);
      }
    }
    out += "}}";
  }
  AppendOperationTextEnd(StoredHlc(op.hlc, writer), op.seq, op.wall_ms, &out);
  return out;
}

namespace {

constexpr const char* kStateKey = "kv";

void AppendHex(char tag, uint64_t v, std::string* out) {
  if (out->back() != '"') out->push_back(',');
  out->push_back(tag);
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
  out->append(buf, r.ptr);
}

}  // namespace

bool AppendOutboxState(const OutboxState& state, const OutboxWriter& writer, std::string* text) {
  for (const auto& [scope, sum] : state.sums)
    if (!scope.empty() && scope != writer.shop_id) return false;
  if (text->empty() || text->back() != '}') return false;
  text->pop_back();
  *text += ",\"";
  *text += kStateKey;
  *text += "\":\"";
  for (const auto& [scope, sum] : state.sums) AppendHex(scope.empty() ? 'c' : 's', sum, text);
  if (state.row_counter > 0) AppendHex('r', uint64_t(state.row_counter), text);
  if (state.receipt_counter > 0) AppendHex('n', uint64_t(state.receipt_counter), text);
  *text += "\"}";
  return true;
}

Status ReadOutboxState(std::string_view text, const OutboxWriter& writer, OutboxState* state, std::string* hlc,
                       bool* found) {
  *state = OutboxState();
  *found = false;
  Json j;
  TS_RETURN_IF_ERROR(ParseJson(text, &j));
  if (!j.is_object()) return Status(ErrorCode::kCorrupt, "outbox entry is not an object");
  auto h = j.find("hlc");
  if (h == j.end() || !h->is_string()) return Status(ErrorCode::kCorrupt, "outbox entry has no hlc");
  *hlc = h->get<std::string>();
  if (!hlc->empty() && hlc->back() == kNodeLeftOut) *hlc += writer.device_id;
  auto kv = j.find(kStateKey);
  if (kv == j.end()) return Status::Ok();
  const Status bad(ErrorCode::kCorrupt, "outbox entry carries an unreadable state");
  if (!kv->is_string()) return bad;
  std::string_view parts = kv->get_ref<const std::string&>();
  while (!parts.empty()) {
    const size_t comma = parts.find(',');
    const std::string_view part = parts.substr(0, comma);
    parts = comma == std::string_view::npos ? std::string_view() : parts.substr(comma + 1);
    if (part.size() < 2 || part.size() > 17) return bad;
    uint64_t v = 0;
    auto r = std::from_chars(part.data() + 1, part.data() + part.size(), v, 16);
    if (r.ec != std::errc() || r.ptr != part.data() + part.size()) return bad;
    switch (part[0]) {
      case 'c': state->sums[""] = v; break;
      case 's': state->sums[writer.shop_id] = v; break;
      case 'r':
      case 'n':
        if (v > uint64_t(INT64_MAX)) return bad;
        (part[0] == 'r' ? state->row_counter : state->receipt_counter) = int64_t(v);
        break;
      default: return bad;
    }
  }
  *found = true;
  return Status::Ok();
}

Status OperationFromOutboxText(std::string_view text, const OutboxWriter& writer, const std::string& path,
                               Operation* out) {
  Json j;
  TS_RETURN_IF_ERROR(ParseJson(text, &j));
  if (j.is_object()) j.erase(kStateKey);  // the device's state, not part of the operation
  if (j.is_object()) {
    auto hlc = j.find("hlc");
    if (hlc != j.end() && hlc->is_string()) {
      std::string& h = hlc->get_ref<std::string&>();
      if (!h.empty() && h.back() == kNodeLeftOut) h += writer.device_id;
    }
  }
  if (j.is_object() && j.contains("changes") && j["changes"].is_array()) {
    const Json wall = j.value("wall", Json());
    const std::string prefix = writer.device_id + "-";
    for (size_t i = 0; i < j["changes"].size(); ++i) {
      Json& c = j["changes"][i];
      if (!c.is_object() || !c.contains(kMaskKey)) continue;
      const Json& m = c[kMaskKey];
      const std::string change_path = path + ".changes[" + std::to_string(i) + "]";
      const std::string field = change_path + "." + kMaskKey;
      if (!m.is_number_integer() || m.get<int64_t>() < 1 || m.get<int64_t>() > kAllBits)
        return Status(ErrorCode::kBadRequest, field + " must be an integer from 1 to " + std::to_string(kAllBits));
      const int mask = int(m.get<int64_t>());
      if (!c.contains("values") || !c["values"].is_object())
        return Status(ErrorCode::kBadRequest, change_path + ".values must be an object");
      if ((mask & (8 | 256)) != 0 && !wall.is_number_integer())
        return Status(ErrorCode::kBadRequest, path + ".wall must be an integer");
      if ((mask & kIdBit) != 0) {
        if (!c.contains("id") || !c["id"].is_string())
          return Status(ErrorCode::kBadRequest, field + " restores the id, which is not a string");
        c["id"] = prefix + c["id"].get_ref<const std::string&>();
      }
      Json& values = c["values"];
      for (const Restorable& r : kRestorable) {
        if ((mask & r.bit) == 0) continue;
        const std::string key(r.key);
        if (r.source == Source::kMintedId) {
          auto v = values.find(key);
          if (v == values.end() || !v->is_string())
            return Status(ErrorCode::kBadRequest, field + " restores " + key + ", which is not a string");
          *v = prefix + v->get_ref<const std::string&>();
          continue;
        }
        if (values.contains(key)) return Status(ErrorCode::kBadRequest, field + " restores " + key + ", which is present");
        values[key] = r.source == Source::kWall ? wall
                      : Json(r.source == Source::kShop ? writer.shop_id : writer.device_id);
      }
      c.erase(kMaskKey);
    }
  }
  return OperationFromJson(j, path, out);
}

}  // namespace tillsync
