// Row ids the app chooses (products, customers, sale order ids for safe retries). The core's id
// grammar allows letters, digits and "_-.:", up to 64 characters; a random UUID fits and two
// offline devices never pick the same one.
export function newId(prefix) {
  return `${prefix}-${crypto.randomUUID()}`;
}
