// The POS's money and cart arithmetic (web/src/lib): integer minor units only, the engine's
// per-line tax rule (core/device.cc RecordSale) reproduced exactly, parsing of what a cashier
// types. Plain Node: these modules have no DOM.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decimalString, formatMoney, parseMoney, formatRate, parseRate, currencyDigits } from '../../web/src/lib/money.js';
import { cartTotals, addToCart, setQty, quickTenders } from '../../web/src/lib/cart.js';

test('amounts become exact decimal strings, whatever the currency digits', () => {
  const cases = [
    [0, 'EUR', '0.00'], [5, 'EUR', '0.05'], [1234, 'EUR', '12.34'], [-5, 'EUR', '-0.05'], [-123456, 'EUR', '-1234.56'],
    [1234, 'JPY', '1234'], [1234, 'BHD', '1.234'], [1_000_000_000_000, 'EUR', '10000000000.00'],
  ];
  for (const [minor, cur, want] of cases) assert.equal(decimalString(minor, cur), want, `${minor} ${cur}`);
  assert.equal(currencyDigits('JPY'), 0);
  assert.throws(() => decimalString(12.5, 'EUR'), /integer/);
});

test('formatting never goes through a float: 0.1 + 0.2 style errors cannot appear', () => {
  // 2^53 - 1 cents formats digit for digit.
  assert.match(formatMoney(9007199254740991, 'EUR').replace(/[^\d.]/g, ''), /^90071992547409\.91$/);
  assert.match(formatMoney(30, 'EUR'), /0\.30/);
});

test('typed amounts parse to minor units or are refused', () => {
  const ok = [['12', 1200], ['12.5', 1250], ['12,50', 1250], ['0.05', 5], [' 3.99 ', 399], ['12.', 1200]];
  for (const [text, want] of ok) assert.equal(parseMoney(text, 'EUR'), want, text);
  for (const bad of ['', 'abc', '1.234', '-1', '1e3', '12.3.4', '0x10']) assert.equal(parseMoney(bad, 'EUR'), null, bad);
  assert.equal(parseMoney('1500', 'JPY'), 1500);
  assert.equal(parseMoney('15.5', 'JPY'), null, 'yen has no minor digits');
});

test('tax rates in basis points round-trip through what people type', () => {
  assert.equal(formatRate(1900), '19.00 %');
  assert.equal(formatRate(750), '7.50 %');
  for (const [text, bp] of [['19', 1900], ['7.5', 750], ['7,25', 725], ['0', 0], ['100', 10000], ['20 %', 2000]]) {
    assert.equal(parseRate(text), bp, text);
  }
  for (const bad of ['101', '7.555', 'x', '-1']) assert.equal(parseRate(bad), null, bad);
});

test('cart totals follow the engine: per-line tax, rounded half up, tax on top of net prices', () => {
  const products = new Map([
    ['a', { id: 'a', name: 'A', price_minor: 250, tax_rate_bp: 1900 }],  // 2 x 2.50 -> tax 0.95
    ['b', { id: 'b', name: 'B', price_minor: 320, tax_rate_bp: 700 }],   // 22.4 -> 22
    ['c', { id: 'c', name: 'C', price_minor: 50, tax_rate_bp: 1000 }],   // 5.0 exactly
    ['h', { id: 'h', name: 'Half', price_minor: 5, tax_rate_bp: 1000 }], // 0.5 -> rounds up to 1
  ]);
  const t = cartTotals([{ productId: 'a', qty: 2 }, { productId: 'b', qty: 1 }, { productId: 'c', qty: 1 },
    { productId: 'h', qty: 1 }], products);
  assert.deepEqual(t.lines.map((l) => [l.lineTotalMinor, l.taxMinor]), [[500, 95], [320, 22], [50, 5], [5, 1]]);
  assert.equal(t.subtotalMinor, 875);
  assert.equal(t.taxMinor, 123);
  assert.equal(t.totalMinor, 998);
  assert.equal(t.items, 5);
  // Huge lines stay exact (the product overflows a double's exact range before the division).
  const big = cartTotals([{ productId: 'x', qty: 1_000_000 }],
    new Map([['x', { id: 'x', name: 'X', price_minor: 1_000_000, tax_rate_bp: 1999 }]]));
  assert.equal(big.taxMinor, Number((10n ** 12n * 1999n + 5000n) / 10000n));
  // A product that disappeared from the catalog is left out, not priced at zero.
  assert.equal(cartTotals([{ productId: 'gone', qty: 1 }], products).lines.length, 0);
});

test('cart edits: add merges lines, quantity zero removes', () => {
  let cart = addToCart([], 'a');
  cart = addToCart(cart, 'b');
  cart = addToCart(cart, 'a');
  assert.deepEqual(cart, [{ productId: 'a', qty: 2 }, { productId: 'b', qty: 1 }]);
  cart = setQty(cart, 'a', 5);
  assert.deepEqual(cart[0], { productId: 'a', qty: 5 });
  assert.deepEqual(setQty(cart, 'b', 0), [{ productId: 'a', qty: 5 }]);
});

test('quick cash amounts: exact first, then the next round notes above', () => {
  assert.deepEqual(quickTenders(1347), [1347, 1400, 1500, 2000, 5000]);
  assert.deepEqual(quickTenders(2000), [2000, 5000, 10000]);
  assert.deepEqual(quickTenders(1347, 1), [1347, 1350, 1360, 1400], 'currencies without minor digits');
});
