#include "core/pull_page_scanner.h"

#include <cstring>

#include "core/table_spec.h"

namespace tillsync {
namespace {

// Reads one canonical page. Every method returns false when the bytes are not what the hub's
// encoder writes (the caller then gives up on the fast path); nothing here builds an error.
class Scanner {
 public:
  explicit Scanner(std::string_view body) : p_(body.data()), end_(body.data() + body.size()) {}

  bool AtEnd() const { return p_ == end_; }
  const char* position() const { return p_; }

  // The exact bytes `lit` next.
  bool Expect(std::string_view lit) {
    if (size_t(end_ - p_) < lit.size() || std::memcmp(p_, lit.data(), lit.size()) != 0) return false;
    p_ += lit.size();
    return true;
  }
  bool Peek(char c) const { return p_ < end_ && *p_ == c; }

  // A JSON string, unescaped into *out. Gives up on \u escapes (the hub's encoder writes them
  // only for control characters), raw control characters and malformed UTF-8 (both invalid
  // JSON: the general decoder refuses them).
  bool String(std::string* out) {
    if (!Expect("\"")) return false;
    out->clear();
    const char* run = p_;
    while (p_ < end_) {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out->append(run, size_t(p_ - run));
        ++p_;
        return true;
      }
      if (c == '\\') {
        out->append(run, size_t(p_ - run));
        if (end_ - p_ < 2) return false;
        char e = p_[1];
        switch (e) {
          case '"': out->push_back('"'); break;
          case '\\': out->push_back('\\'); break;
          case '/': out->push_back('/'); break;
          case 'b': out->push_back('\b'); break;
          case 'f': out->push_back('\f'); break;
          case 'n': out->push_back('\n'); break;
          case 'r': out->push_back('\r'); break;
          case 't': out->push_back('\t'); break;
          default: return false;  // \u and anything else: the general decoder
        }
        p_ += 2;
        run = p_;
        continue;
      }
      if (c < 0x20) return false;
      if (c < 0x80) {
        ++p_;
        continue;
      }
      if (!Utf8Sequence()) return false;
    }
    return false;  // unterminated
  }

  // -?(0|[1-9][0-9]*) with at most 18 digits (always an int64; longer ones, fractions and
  // exponents are left to the general decoder). *non_negative: the JSON library reads such a
  // number as unsigned, which the DOM of the page's top level must mirror.
  bool Integer(int64_t* out, bool* non_negative = nullptr) {
    bool negative = p_ < end_ && *p_ == '-';
    if (negative) ++p_;
    const char* digits = p_;
    uint64_t v = 0;  // unsigned: wraps (defined) on a long run of digits, which is refused below
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') v = v * 10 + uint64_t(*p_++ - '0');
    const size_t n = size_t(p_ - digits);
    if (n == 0 || n > 18 || (n > 1 && *digits == '0')) return false;
    if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    *out = negative ? -int64_t(v) : int64_t(v);
    if (non_negative) *non_negative = !negative;
    return true;
  }

  // A cell of a row: null, an integer or a string (a boolean, float, object or array in a row is
  // refused by the general decoder, with its code).
  bool Cell(ColumnValue* v) {
    if (p_ >= end_) return false;
    if (*p_ == '"') {
      v->kind = ColumnValue::Kind::kText;
      return String(&v->text);
    }
    if (*p_ == 'n') {
      v->kind = ColumnValue::Kind::kNull;
      return Expect("null");
    }
    v->kind = ColumnValue::Kind::kInt;
    return Integer(&v->number);
  }

 private:
  // One well-formed UTF-8 sequence of 2 to 4 bytes (RFC 3629: no overlong forms, no surrogates,
  // nothing past U+10FFFF), the set the JSON library's lexer accepts.
  bool Utf8Sequence() {
    const auto* s = reinterpret_cast<const unsigned char*>(p_);
    const size_t left = size_t(end_ - p_);
    auto cont = [&](size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
      return i < left && s[i] >= lo && s[i] <= hi;
    };
    size_t n = 0;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) n = cont(1) ? 2 : 0;
    else if (s[0] == 0xE0) n = cont(1, 0xA0, 0xBF) && cont(2) ? 3 : 0;
    else if ((s[0] >= 0xE1 && s[0] <= 0xEC) || s[0] == 0xEE || s[0] == 0xEF) n = cont(1) && cont(2) ? 3 : 0;
    else if (s[0] == 0xED) n = cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
    else if (s[0] == 0xF0) n = cont(1, 0x90, 0xBF) && cont(2) && cont(3) ? 4 : 0;
    else if (s[0] >= 0xF1 && s[0] <= 0xF3) n = cont(1) && cont(2) && cont(3) ? 4 : 0;
    else if (s[0] == 0xF4) n = cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
    p_ += n;
    return n != 0;
  }

  const char* p_;
  const char* end_;
};

// The run's table name, read ahead: canonical keys put "rows" before "table", but the rows'
// values can only be placed and checked once the table is known. No string holds an unescaped
// quote, so the first `],"table":"` after the rows begin is where they end, if the run is
// canonical; ScanRun checks that the rows do end exactly there.
bool FindRunTable(std::string_view rest, const TableSpec** spec, size_t* rows_end) {
  static constexpr std::string_view kKey = "],\"table\":\"";
  size_t at = rest.find(kKey);
  if (at == std::string_view::npos) return false;
  size_t name_at = at + kKey.size();
  size_t close = rest.find('"', name_at);
  if (close == std::string_view::npos) return false;
  *spec = FindTable(rest.substr(name_at, close - name_at));  // table names need no escapes
  *rows_end = at;                                           // the rows' closing bracket
  return *spec != nullptr;
}

// {"clocks":[...],"columns":[...],"rows":[[...],...],"table":"..."}
bool ScanRun(Scanner& s, std::string_view body, size_t* total_rows, PageTable* out) {
  if (!s.Expect("{\"clocks\":[")) return false;
  std::vector<Json> clocks;
  std::string key, value;
  if (!s.Peek(']')) {
    do {
      if (!s.Expect("{")) return false;
      Json clock = Json::object();
      if (!s.Peek('}')) {
        do {
          if (!s.String(&key) || !s.Expect(":") || !s.String(&value)) return false;
          clock[key] = value;  // a repeated key keeps the last value, as in the DOM
        } while (s.Expect(","));
      }
      if (!s.Expect("}")) return false;
      clocks.push_back(std::move(clock));
    } while (s.Expect(","));
  }
  if (!s.Expect("],\"columns\":[")) return false;
  std::vector<std::string> columns;
  if (!s.Peek(']')) {
    do {
      columns.emplace_back();
      if (!s.String(&columns.back())) return false;
    } while (s.Expect(","));
  }
  if (!s.Expect("],\"rows\":[")) return false;

  const size_t rows_at = size_t(s.position() - body.data());
  const TableSpec* spec = nullptr;
  size_t rows_end = 0;
  if (!FindRunTable(body.substr(rows_at), &spec, &rows_end)) return false;
  rows_end += rows_at;
  // The run's checks that come before its rows in the general decoder; any failure is its to report.
  std::vector<size_t> column_index;
  column_index.reserve(columns.size());
  for (const std::string& name : columns) {
    const ColumnSpec* col = spec->FindColumn(name);
    if (col == nullptr) return false;
    size_t index = size_t(col - spec->columns.data());
    for (size_t seen : column_index)
      if (seen == index) return false;
    column_index.push_back(index);
  }
  for (const Json& clock : clocks)
    for (auto it = clock.begin(); it != clock.end(); ++it)
      if (it.key() != "*" && spec->FindColumn(it.key()) == nullptr) return false;

  out->spec = spec;
  out->clocks = std::move(clocks);
  out->rows.clear();
  static const std::string kNoPath;  // messages are the general decoder's business
  if (!s.Peek(']')) {
    do {
      if (++*total_rows > size_t(kMaxPullLimit)) return false;
      if (!s.Expect("[")) return false;
      out->rows.emplace_back();
      PageRow& row = out->rows.back();
      int64_t clock = 0;
      if (!s.String(&row.id) || row.id.size() > kMaxIdLength || !IsValidId(row.id)) return false;
      if (!s.Expect(",") || !s.Integer(&row.seq) || !s.Expect(",") || !s.Integer(&row.version) || !s.Expect(",") ||
          !s.Integer(&clock))
        return false;
      if (clock < 0 || clock >= int64_t(out->clocks.size())) return false;
      row.clock = size_t(clock);
      row.values.resize(spec->columns.size());
      for (size_t c = 0; c < column_index.size(); ++c) {
        ColumnValue& v = row.values[column_index[c]];
        if (!s.Expect(",") || !s.Cell(&v)) return false;
        if (!ValidatePageValue(spec->columns[column_index[c]], v, kNoPath).ok()) return false;
      }
      if (!s.Expect("]")) return false;
    } while (s.Expect(","));
  }
  if (size_t(s.position() - body.data()) != rows_end) return false;
  if (!s.Expect("],\"table\":\"") || !s.Expect(spec->name) || !s.Expect("\"}")) return false;
  return true;
}

}  // namespace

bool ScanCanonicalPullPage(std::string_view body, PullResponse* out) {
  Scanner s(body);
  Json top = Json::object();  // the scalar fields, as the general decoder's DOM holds them
  auto integer = [&](const char* key) {
    int64_t v = 0;
    bool non_negative = false;
    if (!s.Integer(&v, &non_negative)) return false;
    top[key] = non_negative ? Json(uint64_t(v)) : Json(v);
    return true;
  };
  std::string text;
  if (!s.Expect("{")) return false;
  if (s.Expect("\"checksum\":")) {
    if (!s.String(&text) || !s.Expect(",")) return false;
    top["checksum"] = text;
  }
  if (!s.Expect("\"cursor\":") || !integer("cursor")) return false;
  if (!s.Expect(",\"hub_hlc\":") || !s.String(&text)) return false;
  top["hub_hlc"] = text;
  if (!s.Expect(",\"more\":")) return false;
  if (s.Expect("true")) top["more"] = true;
  else if (s.Expect("false")) top["more"] = false;
  else return false;
  if (!s.Expect(",\"remaining\":") || !integer("remaining")) return false;
  const bool has_snapshot = s.Expect(",\"snapshot\":");
  if (has_snapshot) {
    if (!s.String(&text)) return false;
    top["snapshot"] = text;
  }
  if (!s.Expect(",\"tables\":[")) return false;
  PullResponse resp;
  size_t total_rows = 0;
  if (!s.Peek(']')) {
    do {
      resp.tables.emplace_back();
      if (!ScanRun(s, body, &total_rows, &resp.tables.back())) return false;
    } while (s.Expect(","));
  }
  // Version 2, or 3 (the only one that may carry a snapshot position).
  if (s.Expect("],\"v\":3}")) resp.page_version = kPullPageVersion3;
  else if (!has_snapshot && s.Expect("],\"v\":2}")) resp.page_version = kPullPageVersion2;
  else return false;
  if (!s.AtEnd()) return false;
  // The answer's own fields, checked by the code the general decoder runs on them.
  if (!ReadPullPageFields(JsonReader(top, ""), &resp).ok()) return false;
  *out = std::move(resp);
  return true;
}

}  // namespace tillsync
