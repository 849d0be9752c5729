// A receipt, on screen and on paper. It is read back from the database (not from what the
// checkout computed), so what prints is what was stored and what the hub will receive.
// The print stylesheet (app.css, @media print) hides everything but `.receipt-paper`.
import { html } from '../lib/html.js';
import { useQuery } from '../lib/hooks.js';
import { formatMoney } from '../lib/money.js';
import { formatDateTime } from '../lib/time.js';
import { go } from '../lib/route.js';

const ORDER_SQL = `SELECT o.*, d.name AS device_name FROM sales_orders o
  LEFT JOIN devices d ON d.id = o.device_id WHERE o.id = ?1`;
const LINES_SQL = 'SELECT * FROM order_lines WHERE order_id = ?1 ORDER BY id';
const PAYMENTS_SQL = 'SELECT * FROM payments WHERE order_id = ?1 ORDER BY id';
const SHOP_SQL = 'SELECT name FROM shops WHERE id = ?1';

export function useOrder(store, orderId) {
  const order = useQuery(store, ORDER_SQL, [orderId], ['sales_orders', 'devices'], [orderId]);
  const lines = useQuery(store, LINES_SQL, [orderId], ['order_lines'], [orderId]);
  const payments = useQuery(store, PAYMENTS_SQL, [orderId], ['payments'], [orderId]);
  return { order: order.rows[0], loading: order.loading, lines: lines.rows, payments: payments.rows };
}

export function ReceiptPaper({ store, order, lines, payments, shopName }) {
  const cur = order.currency;
  return html`
    <article class="receipt-paper" data-testid="receipt">
      <h2 class="receipt-shop">${shopName}</h2>
      <p class="receipt-meta">
        Receipt <strong data-testid="receipt-no">${order.receipt_no}</strong><br />
        ${formatDateTime(order.created_at)}<br />
        Till: ${order.device_name ?? order.device_id}
      </p>
      ${order.status !== 'completed' && html`<p class="receipt-status" data-testid="receipt-status">${order.status.toUpperCase()}</p>`}
      <table class="receipt-lines">
        <tbody>
          ${lines.map((l) => html`
            <tr key=${l.id}>
              <td class="r-qty">${l.qty} ×</td>
              <td class="r-name">${l.name}<br /><span class="muted">@ ${formatMoney(l.unit_price_minor, cur)}</span></td>
              <td class="r-amt">${formatMoney(l.line_total_minor, cur)}</td>
            </tr>`)}
        </tbody>
      </table>
      <dl class="receipt-totals">
        <div><dt>Subtotal</dt><dd>${formatMoney(order.subtotal_minor, cur)}</dd></div>
        <div><dt>Tax</dt><dd>${formatMoney(order.tax_minor, cur)}</dd></div>
        <div class="grand"><dt>Total</dt><dd data-testid="receipt-total">${formatMoney(order.total_minor, cur)}</dd></div>
        ${payments.map((p) => html`
          <div key=${p.id}><dt>${p.method === 'cash' ? 'Cash' : p.method === 'card' ? 'Card' : 'Other'}</dt>
            <dd>${formatMoney(p.method === 'cash' ? p.tendered_minor : p.amount_minor, cur)}</dd></div>
          ${p.change_minor > 0 && html`<div class="receipt-change"><dt>Change</dt>
            <dd data-testid="receipt-change">${formatMoney(p.change_minor, cur)}</dd></div>`}`)}
      </dl>
      <p class="receipt-thanks">Thank you!</p>
    </article>`;
}

export function Receipt({ store, orderId, shopName, justSold }) {
  const { order, loading, lines, payments } = useOrder(store, orderId);
  if (loading) return html`<p class="muted pad">Loading receipt…</p>`;
  if (!order) return html`<p class="pad">No sale ${orderId} on this till.</p>`;
  const change = payments.reduce((s, p) => s + p.change_minor, 0);
  return html`
    <div class="receipt-screen">
      <div class="receipt-side no-print">
        ${justSold && html`
          <div class="sold" data-testid="sale-recorded">
            <p class="sold-title">Sale recorded</p>
            ${change > 0 && html`<p class="sold-change">Change due <strong>${formatMoney(change, order.currency)}</strong></p>`}
          </div>`}
        <button class="btn charge" data-testid="new-sale" onClick=${() => go('sell')}>New sale</button>
        <button class="btn big" data-testid="print" onClick=${() => print()}>Print receipt</button>
        <button class="btn big ghost" onClick=${() => go('history', orderId)}>Open in sales history</button>
      </div>
      <${ReceiptPaper} store=${store} order=${order} lines=${lines} payments=${payments} shopName=${shopName} />
    </div>`;
}
