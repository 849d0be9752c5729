// First run: make this browser a till of a shop. Three ways in:
//   - create a new shop (the hub operator's token), then this till joins it;
//   - join an existing shop as one more till (the shop's token);
//   - recover a shop whose token is lost (its recovery code), then join it.
// Creating and recovering show the shop token and the new recovery code once, in large type,
// because the hub keeps only their hashes.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { describeError } from '../lib/errors.js';
import { createShopAndDevice, joinShop, recoverAndJoin } from '../lib/session.js';

const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK', 'JPY', 'CAD', 'AUD'];

function defaultTillName() {
  return `Till ${Math.floor(Math.random() * 90 + 10)}`;
}

export function FirstRun({ onReady }) {
  const [mode, setMode] = useState(null);
  const [result, setResult] = useState(null);  // {store, shop} after create/recover: show secrets first

  if (result) {
    return html`
      <div class="first-run">
        <div class="setup-card" data-testid="shop-secrets">
          <h1>Write these down</h1>
          <p>The hub keeps only scrambled copies. Keep them somewhere safe, away from the till.</p>
          <dl class="secrets">
            <div><dt>Shop token: to add more tills to this shop</dt>
              <dd class="mono secret" data-testid="shop-token">${result.shop.shopToken}</dd></div>
            <div><dt>Recovery code: to get a new shop token if this one is lost (works once)</dt>
              <dd class="mono secret" data-testid="recovery-code">${result.shop.recoveryCode}</dd></div>
          </dl>
          <button class="btn charge" data-testid="start-selling" onClick=${() => onReady(result.store)}>I wrote them down. Start selling</button>
        </div>
      </div>`;
  }

  return html`
    <div class="first-run" data-testid="first-run">
      <div class="setup-card">
        <h1>Set up this till</h1>
        ${!mode && html`
          <div class="choices">
            <button class="choice" data-testid="mode-create" onClick=${() => setMode('create')}>
              <strong>Create a new shop</strong><span>You run the hub and have its operator token.</span></button>
            <button class="choice" data-testid="mode-join" onClick=${() => setMode('join')}>
              <strong>Add this till to a shop</strong><span>The shop exists; you have its shop token.</span></button>
            <button class="choice" data-testid="mode-recover" onClick=${() => setMode('recover')}>
              <strong>Recover a shop</strong><span>The shop token is lost; you have the recovery code.</span></button>
          </div>`}
        ${mode && html`<${SetupForm} mode=${mode} onBack=${() => setMode(null)}
          onDone=${(r) => (r.shop ? setResult(r) : onReady(r.store))} />`}
      </div>
    </div>`;
}

function SetupForm({ mode, onBack, onDone }) {
  const [f, setF] = useState({ hubUrl: location.origin, operatorToken: '', shopName: '', currency: 'EUR',
    shopToken: '', recoveryCode: '', deviceName: defaultTillName() });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const field = (key, label, props = {}) => html`
    <label>${label}<input data-testid=${`setup-${key}`} value=${f[key]} required
      autocomplete="off" spellcheck=${false} ...${props}
      onInput=${(e) => setF({ ...f, [key]: e.currentTarget.value })} /></label>`;

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const hubUrl = f.hubUrl.trim().replace(/\/+$/, '');
    try {
      let r;
      if (mode === 'create') {
        r = await createShopAndDevice({ hubUrl, operatorToken: f.operatorToken.trim(), shopName: f.shopName.trim(),
          currency: f.currency, deviceName: f.deviceName.trim() });
      } else if (mode === 'join') {
        r = await joinShop({ hubUrl, shopToken: f.shopToken.trim(), deviceName: f.deviceName.trim() });
      } else {
        r = await recoverAndJoin({ hubUrl, recoveryCode: f.recoveryCode.trim(), deviceName: f.deviceName.trim() });
      }
      onDone(r);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  const titles = { create: 'Create a new shop', join: 'Add this till to a shop', recover: 'Recover a shop' };
  return html`
    <form class="setup-form" onSubmit=${submit} data-testid=${`setup-${mode}`}>
      <h2>${titles[mode]}</h2>
      ${mode === 'create' && html`
        ${field('shopName', 'Shop name', { placeholder: 'Corner Shop' })}
        <label>Currency
          <select data-testid="setup-currency" value=${f.currency} onChange=${(e) => setF({ ...f, currency: e.currentTarget.value })}>
            ${CURRENCIES.map((c) => html`<option key=${c}>${c}</option>`)}
          </select></label>
        ${field('operatorToken', 'Hub operator token', { type: 'password' })}`}
      ${mode === 'join' && field('shopToken', 'Shop token', { type: 'password' })}
      ${mode === 'recover' && field('recoveryCode', 'Recovery code')}
      ${field('deviceName', 'Name of this till')}
      <details><summary>Hub address</summary>${field('hubUrl', 'Hub URL', { type: 'url' })}</details>
      ${!navigator.onLine && html`<p class="banner warn">This device is offline. Set up needs the hub once; selling then works offline.</p>`}
      ${error && html`<p class="error" role="alert" data-testid="setup-error">${error}</p>`}
      <div class="dialog-actions">
        <button type="button" class="btn big" onClick=${onBack} disabled=${busy}>Back</button>
        <button type="submit" class="btn big primary" data-testid="setup-submit" disabled=${busy}>
          ${busy ? 'Setting up…' : mode === 'create' ? 'Create shop' : mode === 'join' ? 'Join shop' : 'Recover shop'}</button>
      </div>
    </form>`;
}
