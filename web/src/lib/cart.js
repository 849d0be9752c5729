// The cart before checkout: a list of {productId, qty} plus a preview of the totals. The engine's
// recordSale() computes the totals that are stored and printed; this preview must give the same
// numbers, so it uses the engine's rule exactly (core/device.cc RecordSale): per line
// line_total = qty * unit price (tax exclusive), tax = round-half-up(line_total * rate_bp / 10000),
// total = subtotal + tax. BigInt for the product because 10^18 * 10^4 overflows a double's exact
// range.

/** @returns {{lines: {productId, name, qty, unitMinor, lineTotalMinor, taxMinor}[], subtotalMinor, taxMinor, totalMinor, items}} */
export function cartTotals(cart, productsById) {
  let subtotal = 0n;
  let tax = 0n;
  let items = 0;
  const lines = [];
  for (const { productId, qty } of cart) {
    const p = productsById.get(productId);
    if (!p) continue;  // a product deactivated meanwhile: the cart screen flags it separately
    const lineTotal = BigInt(qty) * BigInt(p.price_minor);
    const lineTax = (lineTotal * BigInt(p.tax_rate_bp) + 5000n) / 10000n;
    subtotal += lineTotal;
    tax += lineTax;
    items += qty;
    lines.push({ productId, name: p.name, qty, unitMinor: p.price_minor, lineTotalMinor: Number(lineTotal),
      taxMinor: Number(lineTax) });
  }
  return { lines, items, subtotalMinor: Number(subtotal), taxMinor: Number(tax), totalMinor: Number(subtotal + tax) };
}

export function addToCart(cart, productId, qty = 1) {
  const i = cart.findIndex((l) => l.productId === productId);
  if (i < 0) return [...cart, { productId, qty }];
  return cart.map((l, j) => (j === i ? { ...l, qty: l.qty + qty } : l));
}

export function setQty(cart, productId, qty) {
  if (qty <= 0) return cart.filter((l) => l.productId !== productId);
  return cart.map((l) => (l.productId === productId ? { ...l, qty } : l));
}

/**
 * Quick cash amounts a customer is likely to hand over for `total`: the exact amount, then the
 * next round notes above it. Integer arithmetic on minor units; `unit` is one major unit.
 */
export function quickTenders(totalMinor, unit = 100) {
  const out = [totalMinor];
  for (const step of [1, 5, 10, 20, 50, 100].map((n) => n * unit)) {
    const up = totalMinor + ((step - (totalMinor % step)) % step);
    if (up > totalMinor && !out.includes(up)) out.push(up);
    if (out.length >= 5) break;
  }
  return out;
}
