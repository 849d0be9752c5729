// Money in the POS: every amount is an integer number of minor units (cents) from the engine to
// the screen. Formatting builds an exact decimal *string* and hands that to Intl.NumberFormat
// (which formats decimal strings without going through a binary float), so 0.1 + 0.2 never
// appears anywhere. Parsing turns what a person typed into minor units with integer arithmetic.

const formatters = new Map();

function formatterFor(currency) {
  let f = formatters.get(currency);
  if (!f) {
    const nf = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    f = { nf, digits: nf.resolvedOptions().maximumFractionDigits };
    formatters.set(currency, f);
  }
  return f;
}

/** Number of minor-unit digits of a currency (EUR 2, JPY 0). */
export function currencyDigits(currency) {
  return formatterFor(currency).digits;
}

/** The exact decimal string of an amount: 1234 EUR -> "12.34", -5 -> "-0.05". */
export function decimalString(minor, currency) {
  if (!Number.isSafeInteger(minor)) throw new TypeError(`money must be an integer, got ${minor}`);
  const digits = currencyDigits(currency);
  const sign = minor < 0 ? '-' : '';
  const abs = String(Math.abs(minor));
  if (digits === 0) return sign + abs;
  const padded = abs.padStart(digits + 1, '0');
  return `${sign}${padded.slice(0, -digits)}.${padded.slice(-digits)}`;
}

/** "€12.34" in the shop's currency and the device's locale. */
export function formatMoney(minor, currency) {
  return formatterFor(currency).nf.format(decimalString(minor, currency));
}

/**
 * Parses what a cashier typed ("12", "12.5", "12,50") into minor units, or null when it is not
 * an amount (too many decimals, letters, negative). Integer arithmetic only.
 */
export function parseMoney(text, currency) {
  const digits = currencyDigits(currency);
  const s = String(text).trim().replace(/\s/g, '');
  const m = /^(\d{1,13})(?:[.,](\d*))?$/.exec(s);
  if (!m) return null;
  const frac = m[2] ?? '';
  if (frac.length > digits) return null;
  const minor = Number(m[1]) * 10 ** digits + Number(frac.padEnd(digits, '0') || '0');
  return Number.isSafeInteger(minor) ? minor : null;
}

/** "20.00 %" from basis points (2000), without floats. */
export function formatRate(bp) {
  const whole = Math.trunc(bp / 100);
  const frac = String(Math.abs(bp % 100)).padStart(2, '0');
  return `${whole}.${frac} %`;
}

/** Parses "20", "7.5", "19,00" (percent) into basis points, or null. */
export function parseRate(text) {
  const m = /^(\d{1,3})(?:[.,](\d{0,2}))?$/.exec(String(text).trim().replace(/\s|%/g, ''));
  if (!m) return null;
  const bp = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return bp <= 10000 ? bp : null;
}
