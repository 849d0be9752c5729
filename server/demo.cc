#include "server/demo.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <vector>

#include "core/hub.h"
#include "core/operation.h"

namespace tillsync::server {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

Status DeriveToken(const std::string& seed_hex, const char* label, TokenKind kind, std::string* out) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), seed_hex.data(), int(seed_hex.size()), reinterpret_cast<const unsigned char*>(label),
           std::string_view(label).size(), mac, &len) == nullptr)
    return Status(ErrorCode::kInternal, "HMAC failed");
  *out = std::string(TokenPrefix(kind)) + Hex(mac, len);
  return Status::Ok();
}

struct DemoProduct {
  const char* id;
  const char* category;
  const char* name;
  const char* sku;
  int64_t price_minor;
  int64_t tax_rate_bp;
};

struct DemoCategory {
  const char* id;
  const char* name;
};

const DemoCategory kCategories[] = {
    {"demo-cat-coffee", "Coffee"},     {"demo-cat-tea", "Tea"},       {"demo-cat-bakery", "Bakery"},
    {"demo-cat-sandwich", "Sandwiches"}, {"demo-cat-cold", "Cold drinks"}, {"demo-cat-snacks", "Snacks"},
};

// Prices in euro cents; food 7 % (700 bp), drinks 19 % (1900 bp).
const DemoProduct kProducts[] = {
    {"demo-espresso", "demo-cat-coffee", "Espresso", "COF-001", 220, 1900},
    {"demo-doppio", "demo-cat-coffee", "Double espresso", "COF-002", 290, 1900},
    {"demo-cappuccino", "demo-cat-coffee", "Cappuccino", "COF-003", 340, 1900},
    {"demo-latte", "demo-cat-coffee", "Caffe latte", "COF-004", 380, 1900},
    {"demo-flatwhite", "demo-cat-coffee", "Flat white", "COF-005", 390, 1900},
    {"demo-filter", "demo-cat-coffee", "Filter coffee", "COF-006", 250, 1900},
    {"demo-black-tea", "demo-cat-tea", "Black tea", "TEA-001", 240, 1900},
    {"demo-green-tea", "demo-cat-tea", "Green tea", "TEA-002", 260, 1900},
    {"demo-mint-tea", "demo-cat-tea", "Fresh mint tea", "TEA-003", 320, 1900},
    {"demo-chai", "demo-cat-tea", "Chai latte", "TEA-004", 390, 1900},
    {"demo-rooibos", "demo-cat-tea", "Rooibos", "TEA-005", 260, 1900},
    {"demo-matcha", "demo-cat-tea", "Matcha latte", "TEA-006", 420, 1900},
    {"demo-croissant", "demo-cat-bakery", "Butter croissant", "BAK-001", 180, 700},
    {"demo-pain-choc", "demo-cat-bakery", "Pain au chocolat", "BAK-002", 210, 700},
    {"demo-cinnamon", "demo-cat-bakery", "Cinnamon roll", "BAK-003", 290, 700},
    {"demo-muffin", "demo-cat-bakery", "Blueberry muffin", "BAK-004", 260, 700},
    {"demo-banana-bread", "demo-cat-bakery", "Banana bread slice", "BAK-005", 280, 700},
    {"demo-brownie", "demo-cat-bakery", "Brownie", "BAK-006", 250, 700},
    {"demo-blt", "demo-cat-sandwich", "BLT sandwich", "SAN-001", 590, 700},
    {"demo-caprese", "demo-cat-sandwich", "Caprese panini", "SAN-002", 620, 700},
    {"demo-club", "demo-cat-sandwich", "Club sandwich", "SAN-003", 690, 700},
    {"demo-hummus-wrap", "demo-cat-sandwich", "Hummus wrap", "SAN-004", 550, 700},
    {"demo-bagel", "demo-cat-sandwich", "Salmon bagel", "SAN-005", 720, 700},
    {"demo-toastie", "demo-cat-sandwich", "Cheese toastie", "SAN-006", 480, 700},
    {"demo-water", "demo-cat-cold", "Still water 0.5 l", "CLD-001", 190, 1900},
    {"demo-sparkling", "demo-cat-cold", "Sparkling water 0.5 l", "CLD-002", 190, 1900},
    {"demo-oj", "demo-cat-cold", "Fresh orange juice", "CLD-003", 390, 1900},
    {"demo-lemonade", "demo-cat-cold", "Homemade lemonade", "CLD-004", 350, 1900},
    {"demo-iced-latte", "demo-cat-cold", "Iced latte", "CLD-005", 410, 1900},
    {"demo-cola", "demo-cat-cold", "Cola 0.33 l", "CLD-006", 280, 1900},
    {"demo-crisps", "demo-cat-snacks", "Sea salt crisps", "SNK-001", 150, 700},
    {"demo-nuts", "demo-cat-snacks", "Roasted almonds", "SNK-002", 240, 700},
    {"demo-flapjack", "demo-cat-snacks", "Oat flapjack", "SNK-003", 220, 700},
    {"demo-fruit-cup", "demo-cat-snacks", "Fruit cup", "SNK-004", 330, 700},
    {"demo-choc-bar", "demo-cat-snacks", "Dark chocolate bar", "SNK-005", 260, 700},
    {"demo-cookie", "demo-cat-snacks", "Chocolate chip cookie", "SNK-006", 190, 700},
};

Status SeedCatalogAndStock(PushCommitter* writer, const std::string& shop_id, int64_t created_at) {
  std::vector<Change> changes;
  int order = 0;
  for (const DemoCategory& c : kCategories)
    changes.push_back(Change{"categories", c.id, Json{{"name", c.name}, {"sort_order", 10 * ++order}, {"active", 1}}});
  int i = 0;
  for (const DemoProduct& p : kProducts) {
    changes.push_back(Change{"products", p.id,
                             Json{{"category_id", p.category}, {"name", p.name}, {"sku", p.sku},
                                  {"barcode", "400000" + std::to_string(100000 + i)}, {"price_minor", p.price_minor},
                                  {"tax_rate_bp", p.tax_rate_bp}, {"active", 1}}});
    // 24 to 120 units each, fixed per product.
    int64_t qty = 24 + (int64_t(i) * 37) % 97;
    changes.push_back(Change{"stock_movements", std::string("demo-rcpt-") + p.id,
                             Json{{"shop_id", shop_id}, {"product_id", p.id}, {"qty_delta", qty}, {"kind", "receipt"},
                                  {"ref_id", "demo-delivery-1"}, {"created_at", created_at}}});
    ++i;
  }
  return writer->Run([&](Hub* hub) { return hub->AdminWrite(changes); });
}

}  // namespace

Status EnsureDemo(PushCommitter* writer, AuthStore* auth, DemoCredentials* out) {
  std::string seed, shop_id, seeded;
  bool found = false;
  TS_RETURN_IF_ERROR(auth->GetSetting("demo_seed", &seed, &found));
  if (!found) {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) return Status(ErrorCode::kInternal, "the system random source failed");
    seed = Hex(bytes, sizeof bytes);
    TS_RETURN_IF_ERROR(auth->PutSetting("demo_seed", seed));
  }
  ShopRecord shop;
  TS_RETURN_IF_ERROR(auth->GetSetting("demo_shop_id", &shop_id, &found));
  if (!found) {
    TS_RETURN_IF_ERROR(writer->Run([&](Hub* hub) { return hub->CreateShop("Demo Corner Shop", "EUR", &shop); }));
    shop_id = shop.id;
    TS_RETURN_IF_ERROR(auth->PutSetting("demo_shop_id", shop_id));
    out->created_now = true;
  }
  TS_RETURN_IF_ERROR(writer->Run([&](Hub* hub) {
    std::vector<ShopRecord> shops;
    TS_RETURN_IF_ERROR(hub->ListShops(&shops));
    for (const ShopRecord& s : shops)
      if (s.id == shop_id) shop = s;
    return shop.id.empty() ? Status(ErrorCode::kCorrupt, "the demo shop recorded in _srv_settings is missing")
                           : Status::Ok();
  }));
  TS_RETURN_IF_ERROR(auth->GetSetting("demo_seeded", &seeded, &found));
  if (!found) {
    TS_RETURN_IF_ERROR(SeedCatalogAndStock(writer, shop_id, shop.created_at));
    TS_RETURN_IF_ERROR(auth->PutSetting("demo_seeded", "1"));
  }
  TS_RETURN_IF_ERROR(DeriveToken(seed, "operator", TokenKind::kOperator, &out->operator_token));
  TS_RETURN_IF_ERROR(DeriveToken(seed, "shop", TokenKind::kShop, &out->shop_token));
  TS_RETURN_IF_ERROR(auth->Install(out->operator_token, TokenKind::kOperator, "", ""));
  TS_RETURN_IF_ERROR(auth->Install(out->shop_token, TokenKind::kShop, shop_id, ""));
  out->shop_id = shop_id;
  out->shop_name = shop.name;
  out->products = int(sizeof kProducts / sizeof kProducts[0]);
  return Status::Ok();
}

}  // namespace tillsync::server
