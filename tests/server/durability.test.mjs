// Durability: the hub is killed with SIGKILL while devices push, again and again. After every
// restart, every operation a client saw acknowledged must be there exactly once, and the database
// must pass `PRAGMA integrity_check` and the hub's own bookkeeping checks (`tillsync-server check`).
// Devices behave like real ones: an operation that got no answer stays in their outbox and is
// sent again, with the same id and payload, after the restart.
//
// Iterations: TILLSYNC_KILL_ITERATIONS (default 50). For a longer run:
//   TILLSYNC_KILL_ITERATIONS=1000 node --test tests/server/durability.test.mjs
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { HubClient, PRODUCTS, cli, rowsOf, startServer } from './hub_harness.mjs';

const ITERATIONS = Number(process.env.TILLSYNC_KILL_ITERATIONS ?? 50);
const DEVICES_PER_SHOP = 3;

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

test(`SIGKILL while devices push, ${ITERATIONS} times: acknowledged operations survive exactly once`, { timeout: 30 * 60 * 1000 }, async () => {
  let server = await startServer();
  const dbPath = server.dbPath;
  const operatorToken = server.operatorToken;
  let hub = new HubClient(server);
  await hub.addProducts(PRODUCTS);
  const devices = [];
  for (const name of ['Kill shop one', 'Kill shop two']) {
    const shop = await hub.createShop(name);
    for (let i = 0; i < DEVICES_PER_SHOP; i += 1) {
      const dev = await hub.registerDevice(shop.shop_token, `${name} till ${i}`);
      devices.push({ dev, outbox: [], acked: new Map(), rows: new Map(), cursor: 0 });
    }
  }

  let killedWithRequestsInFlight = 0;
  let totalAcked = 0;
  for (let round = 0; round < ITERATIONS; round += 1) {
    // Devices push as fast as they can, each on its own keep-alive connection.
    let running = true;
    let inFlight = 0;
    let ackedThisRound = 0;
    const loops = devices.map(async (d) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        while (running) {
          while (d.outbox.length < 3) d.outbox.push(d.dev.saleOp());
          const batch = d.outbox.slice(0, 1 + (d.dev.seq % 3));
          inFlight += 1;
          let r;
          try {
            r = await d.dev.push(batch, { agent });
          } catch {
            return;  // the hub died under us: these operations stay in the outbox
          } finally {
            inFlight -= 1;
          }
          if (r.status !== 200) throw new Error(`push answered ${r.status}: ${r.text}`);
          assert.equal(r.json.results.length, batch.length);
          for (let i = 0; i < batch.length; i += 1) {
            assert.equal(r.json.results[i].seq, batch[i].seq);
            assert.equal(r.json.results[i].status, 'applied', JSON.stringify(r.json.results[i]));
            d.acked.set(batch[i].seq, batch[i]);
          }
          d.outbox.splice(0, batch.length);
          ackedThisRound += batch.length;
        }
      } finally {
        agent.destroy();
      }
    });
    // Kill once pushes are flowing, at a varying moment.
    const deadline = Date.now() + 5000;
    while (ackedThisRound < 4 && Date.now() < deadline) await sleep(2);
    await sleep(Math.floor(Math.random() * 100));
    if (inFlight > 0) killedWithRequestsInFlight += 1;
    await server.kill();
    running = false;
    await Promise.all(loops);

    // The file as the kill left it: intact, and the exactly-once bookkeeping adds up.
    const check = cli(['check', '--db', dbPath]);
    assert.equal(check.code, 0, `round ${round}: check failed: ${check.stdout} ${check.stderr}`);
    assert.equal(check.json.integrity_check, 'ok');
    assert.equal(check.json.devices_with_gaps, 0);
    assert.equal(check.json.checksum_mismatches, 0);

    server = await startServer({ db: dbPath });
    hub = new HubClient(server);
    for (const d of devices) d.dev.client = hub;
    // Every acknowledged operation is there, once; an unacknowledged one at most once.
    for (const d of devices) {
      const pulled = await d.dev.pullAll(d.cursor, d.rows);
      d.cursor = pulled.cursor;
      const orders = rowsOf(d.rows, 'sales_orders').filter((o) => o.values.device_id === d.dev.id);
      const ids = new Set(orders.map((o) => o.id));
      for (const op of d.acked.values()) {
        assert.ok(ids.has(op.changes[0].id), `round ${round}: acknowledged op ${d.dev.id}/${op.seq} is missing`);
      }
      const unacked = new Set(d.outbox.map((op) => op.changes[0].id));
      for (const id of ids) {
        const known = [...d.acked.values()].some((op) => op.changes[0].id === id) || unacked.has(id);
        assert.ok(known, `round ${round}: an order the device never wrote: ${id}`);
      }
    }
    totalAcked = devices.reduce((n, d) => n + d.acked.size, 0);
  }

  // Heal: every device sends what is still in its outbox (replays get their first answer).
  for (const d of devices) {
    if (d.outbox.length === 0) continue;
    const r = await d.dev.push(d.outbox);
    assert.equal(r.status, 200, r.text);
    for (const res of r.json.results) assert.equal(res.status, 'applied');
    for (const op of d.outbox) d.acked.set(op.seq, op);
    d.outbox = [];
  }
  // Exactly once, in total: one order per operation, ops_applied equal to all operations, and
  // stock equal to the sum of the sales' movements.
  const stats = await new HubClient({ ...server, operatorToken }).stats();
  const allOps = devices.reduce((n, d) => n + d.dev.seq, 0);
  assert.equal(stats.ops_applied, allOps, 'each operation applied exactly once');
  for (const d of devices) {
    const pulled = await d.dev.pullAll(d.cursor, d.rows);
    d.cursor = pulled.cursor;
    const orders = rowsOf(d.rows, 'sales_orders').filter((o) => o.values.device_id === d.dev.id);
    assert.equal(orders.length, d.dev.seq, `${d.dev.id}: one order per operation`);
    assert.equal(d.acked.size, d.dev.seq);
  }
  const shopRows = devices[0].rows;
  const soldInShop = devices.slice(0, DEVICES_PER_SHOP).reduce((n, d) => n + d.dev.seq * 4, 0);  // 1+2+1 units per sale
  const stock = rowsOf(shopRows, 'stock_movements').reduce((n, m) => n + m.values.qty_delta, 0);
  assert.equal(stock, -soldInShop, 'stock is the sum of the movements of every sale, once');
  await server.stop();
  const final = cli(['check', '--db', dbPath]);
  assert.equal(final.json.ok, true, final.stdout);

  console.log(`# durability: ${ITERATIONS} SIGKILLs, ${killedWithRequestsInFlight} with pushes in flight, `
    + `${totalAcked} operations acknowledged before kills, ${allOps} in total`);
  assert.ok(killedWithRequestsInFlight >= Math.ceil(ITERATIONS / 2), 'most kills hit pushes in flight');
});
