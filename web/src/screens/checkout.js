// Checkout: cash (with change due) or card. The receipt appears only after recordSale()
// resolved, i.e. after the sale and its outbox entry are durable on this device: a sale the
// screen shows as recorded is never lost.
//
// The order id is chosen once, when this dialog opens, and passed to recordSale(): if the call
// fails in a way that leaves its outcome unknown (the worker restarted under it), pressing
// "Complete sale" again retries the *same* sale, and the engine returns the first result instead
// of recording it twice.
import { useMemo, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { formatMoney, currencyDigits } from '../lib/money.js';
import { quickTenders } from '../lib/cart.js';
import { newId } from '../lib/ids.js';
import { describeError } from '../lib/errors.js';

export function Checkout({ store, cart, totals, onCancel, onDone, onError }) {
  const currency = store.identity.currency;
  const unit = 10 ** currencyDigits(currency);
  const orderId = useMemo(() => newId('o'), []);
  const [method, setMethod] = useState(null);
  // Cash typed on the keypad as minor units, the way cash registers do: 2,0,0,0 -> 20.00.
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const total = totals.totalMinor;
  const tendered = typed === '' ? null : Number(typed);
  const change = tendered === null ? null : tendered - total;
  const cashOk = tendered !== null && tendered >= total;
  const canComplete = !busy && (method === 'card' || (method === 'cash' && cashOk));

  const press = (k) => {
    setError(null);
    if (k === 'back') setTyped((t) => t.slice(0, -1));
    else if (k === 'clear') setTyped('');
    else setTyped((t) => (t + k).replace(/^0+(?=\d)/, '').slice(0, 12));
  };

  const complete = async () => {
    setBusy(true);
    setError(null);
    const payment = method === 'cash' ? { method: 'cash', tenderedMinor: tendered } : { method: 'card' };
    try {
      const result = await store.recordSale({ orderId, lines: cart.map((l) => ({ productId: l.productId, qty: l.qty })),
        payments: [payment] });
      onDone({ ...result, method, tenderedMinor: method === 'cash' ? tendered : result.totalMinor });
    } catch (e) {
      setError(e);
      onError?.(e);
      setBusy(false);
    }
  };

  return html`
    <div class="overlay" role="dialog" aria-modal="true" aria-label="Checkout" data-testid="checkout">
      <div class="dialog checkout">
        <header class="dialog-head due">
          <div>
            <h2>Checkout</h2>
            <span class="muted">${totals.items} item${totals.items === 1 ? '' : 's'} · total to pay</span>
          </div>
          <strong data-testid="checkout-total">${formatMoney(total, currency)}</strong>
          <button class="btn ghost" onClick=${onCancel} disabled=${busy}>Back to sale</button>
        </header>
        <div class="methods">
          <button class=${method === 'cash' ? 'method active' : 'method'} data-testid="pay-cash"
            onClick=${() => { setMethod('cash'); setError(null); }}>Cash</button>
          <button class=${method === 'card' ? 'method active' : 'method'} data-testid="pay-card"
            onClick=${() => { setMethod('card'); setError(null); }}>Card</button>
        </div>
        ${method === 'cash' && html`
          <div class="cash">
            <div class="quick">
              ${quickTenders(total, unit).map((a, i) => html`
                <button key=${a} class=${tendered === a ? 'btn quick-amount active' : 'btn quick-amount'} data-testid=${i === 0 ? 'tender-exact' : 'tender-quick'}
                  onClick=${() => setTyped(String(a))}>${i === 0 ? 'Exact ' : ''}${formatMoney(a, currency)}</button>`)}
            </div>
            <div class="cash-body">
              <div class="keypad">
                ${['1', '2', '3', '4', '5', '6', '7', '8', '9', '00', '0', 'back'].map((k) => html`
                  <button key=${k} class="key" data-key=${k} onClick=${() => press(k)}
                    aria-label=${k === 'back' ? 'Delete last digit' : k}>${k === 'back' ? '⌫' : k}</button>`)}
              </div>
              <dl class="cash-figures">
                <div><dt>Cash received</dt>
                  <dd data-testid="tendered">${tendered === null ? '—' : formatMoney(tendered, currency)}</dd></div>
                <div class=${cashOk ? 'change' : 'change short'}><dt>${change !== null && change < 0 ? 'Still to pay' : 'Change due'}</dt>
                  <dd data-testid="change-due">${change === null ? '—' : formatMoney(Math.abs(change), currency)}</dd></div>
              </dl>
            </div>
          </div>`}
        ${method === 'card' && html`
          <p class="card-note">Take ${formatMoney(total, currency)} on the card terminal, then complete the sale
            once the terminal shows it approved.</p>`}
        ${error && html`<p class="error" role="alert" data-testid="checkout-error">
          <strong>Not recorded.</strong> ${describeError(error)}</p>`}
        <button class="btn charge" data-testid="complete-sale" disabled=${!canComplete} onClick=${complete}>
          ${busy ? 'Recording…' : method ? 'Complete sale' : 'Choose cash or card'}
        </button>
      </div>
    </div>`;
}
