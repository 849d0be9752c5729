// Sales history of the whole shop: this till's sales at once, other tills' sales after they
// synced through the hub. A sale not yet uploaded is marked; void and refund are operations of
// their own (the sale row only moves forward: completed -> voided | refunded).
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { useQuery } from '../lib/hooks.js';
import { formatMoney } from '../lib/money.js';
import { formatDateTime } from '../lib/time.js';
import { go } from '../lib/route.js';
import { describeError } from '../lib/errors.js';
import { ReceiptPaper, useOrder } from './receipt.js';
import { Confirm } from '../components/confirm.js';

const SALES_SQL = `SELECT o.id, o.receipt_no, o.status, o.total_minor, o.currency, o.created_at, o.device_id,
    d.name AS device_name
  FROM sales_orders o LEFT JOIN devices d ON d.id = o.device_id
  WHERE o.shop_id = ?1 AND (?2 = '' OR o.device_id = ?2)
  ORDER BY o.created_at DESC, o.receipt_no DESC LIMIT 300`;

/** Ids of sales_orders rows that are in the outbox (recorded here, not yet acknowledged). */
function usePendingOrders(store, pendingCount) {
  const [ids, setIds] = useState(new Set());
  useEffect(() => {
    let alive = true;
    store.outbox().then((ops) => {
      if (!alive) return;
      const s = new Set();
      for (const op of ops) for (const c of op.changes) if (c.table === 'sales_orders') s.add(c.id);
      setIds(s);
    }, () => {});
    return () => { alive = false; };
  }, [store, pendingCount]);
  return ids;
}

export function History({ store, status, selected, shopName, toast }) {
  const me = store.identity.deviceId;
  const [mine, setMine] = useState(false);
  const sales = useQuery(store, SALES_SQL, [store.identity.shopId, mine ? me : ''], ['sales_orders', 'devices'], [mine]);
  const pending = usePendingOrders(store, status?.pending);
  const completed = sales.rows.filter((s) => s.status === 'completed');
  const takings = completed.reduce((sum, s) => sum + s.total_minor, 0);
  const currency = store.identity.currency;

  return html`
    <div class="split">
      <section class="list-pane">
        <header class="pane-head">
          <h2>Sales</h2>
          <div class="seg">
            <button class=${mine ? '' : 'active'} data-testid="history-all" onClick=${() => setMine(false)}>All tills</button>
            <button class=${mine ? 'active' : ''} data-testid="history-mine" onClick=${() => setMine(true)}>This till</button>
          </div>
        </header>
        <p class="muted summary">${sales.rows.length} sales shown · completed ${formatMoney(takings, currency)}</p>
        <ul class="rows" data-testid="sales-list">
          ${sales.rows.length === 0 && !sales.loading && html`<li class="muted pad">No sales yet.</li>`}
          ${sales.rows.map((s) => html`
            <li key=${s.id}>
              <button class=${selected === s.id ? 'row active' : 'row'} data-testid="sale-row" data-order-id=${s.id}
                  data-receipt=${s.receipt_no} onClick=${() => go('history', s.id)}>
                <span class="row-main">
                  <strong>${s.receipt_no}</strong>
                  <span class="muted">${formatDateTime(s.created_at)} · ${s.device_id === me ? 'this till' : (s.device_name ?? s.device_id)}</span>
                </span>
                <span class="row-side">
                  <span class=${s.status === 'completed' ? 'amount' : 'amount struck'}>${formatMoney(s.total_minor, s.currency)}</span>
                  ${s.status !== 'completed' && html`<span class="badge bad">${s.status}</span>`}
                  ${pending.has(s.id) && html`<span class="badge warn" data-testid="not-uploaded">not uploaded</span>`}
                </span>
              </button>
            </li>`)}
        </ul>
      </section>
      <section class="detail-pane">
        ${selected ? html`<${SaleDetail} key=${selected} store=${store} orderId=${selected} shopName=${shopName} toast=${toast} />`
          : html`<p class="muted pad">Choose a sale to see its receipt, void it or refund it.</p>`}
      </section>
    </div>`;
}

function SaleDetail({ store, orderId, shopName, toast }) {
  const { order, loading, lines, payments } = useOrder(store, orderId);
  const [asking, setAsking] = useState(null);
  const [error, setError] = useState(null);
  if (loading) return html`<p class="muted pad">Loading…</p>`;
  if (!order) return html`<p class="pad">This sale is not on this till.</p>`;

  const act = async (kind) => {
    setAsking(null);
    setError(null);
    try {
      if (kind === 'void') await store.voidSale(orderId);
      else await store.refundSale(orderId);
      toast(kind === 'void' ? `Sale ${order.receipt_no} voided` : `Sale ${order.receipt_no} refunded`);
    } catch (e) {
      setError(describeError(e));
    }
  };
  const cur = order.currency;
  return html`
    <div class="sale-detail">
      <div class="actions no-print">
        ${order.status === 'completed' ? html`
          <button class="btn danger" data-testid="void-sale" onClick=${() => setAsking('void')}>Void sale</button>
          <button class="btn warn" data-testid="refund-sale" onClick=${() => setAsking('refund')}>Refund ${formatMoney(order.total_minor, cur)}</button>`
          : html`<span class="badge bad big">${order.status}</span>`}
        <button class="btn" onClick=${() => print()}>Print</button>
      </div>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <${ReceiptPaper} store=${store} order=${order} lines=${lines} payments=${payments} shopName=${shopName} />
      ${asking && html`
        <${Confirm} title=${asking === 'void' ? `Void sale ${order.receipt_no}?` : `Refund sale ${order.receipt_no}?`}
          confirmLabel=${asking === 'void' ? 'Void sale' : `Refund ${formatMoney(order.total_minor, cur)}`}
          danger=${true} onCancel=${() => setAsking(null)} onConfirm=${() => act(asking)}>
          ${asking === 'void'
            ? 'Voiding cancels the sale (for a mistake at the till). The items go back into stock.'
            : 'Refunding gives the customer their money back. The items go back into stock.'}
        <//>`}
    </div>`;
}
