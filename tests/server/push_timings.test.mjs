// The push path's phase histograms in GET /v1/admin/stats ("push_timings", server/push_timings.h):
// every push that reaches the writer is counted once in each per-push phase, every group once in
// the per-group phases, the WAL frames the commits wrote are counted, a push refused on its HTTP thread never reaches the queue, and each
// histogram's buckets add up to its count. bench_hub reads these to say where a push's time goes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HubClient, PRODUCTS, request, startServer } from './hub_harness.mjs';

function total(h) { return h.buckets.reduce((n, [, c]) => n + c, 0); }
function delta(after, before, phase) { return after.push_timings[phase].count - before.push_timings[phase].count; }

test('push_timings count every push and group once per phase, and refused pushes only where they were handled', async () => {
  const server = await startServer();
  try {
    const hub = new HubClient(server);
    await hub.addProducts(PRODUCTS);
    const shop = await hub.createShop('Timed shop');
    const devices = [];
    for (let i = 0; i < 4; i += 1) devices.push(await hub.registerDevice(shop.shop_token, `Till ${i}`));

    const before = await hub.stats();
    for (const phase of ['handler', 'prepare', 'queue_wait', 'group', 'commit', 'after_group', 'checkpoint',
      'helper_checkpoint', 'wake']) {
      const h = before.push_timings[phase];
      assert.ok(h, `phase ${phase} reported`);
      assert.equal(total(h), h.count, `${phase}: buckets add up to the count`);
    }

    // 4 devices x 5 pushes, the devices concurrently: some pushes share a group.
    const PUSHES = 5;
    await Promise.all(devices.map(async (d) => {
      for (let k = 0; k < PUSHES; k += 1) {
        const r = await d.push([d.saleOp()]);
        assert.equal(r.status, 200, r.text);
      }
    }));
    // One push refused before the writer (a body that does not decode).
    const bad = await request(`${hub.url}/v1/push`, { method: 'POST', token: devices[0].token, rawBody: '{"v":1,',
      headers: { 'Content-Type': 'application/json' } });
    assert.equal(bad.status, 400, bad.text);

    const after = await hub.stats();
    const pushed = devices.length * PUSHES;
    const groups = after.server.push_groups - before.server.push_groups;
    assert.equal(after.server.pushes - before.server.pushes, pushed);
    assert.equal(delta(after, before, 'queue_wait'), pushed, 'each push waited in the queue once');
    assert.equal(delta(after, before, 'wake'), pushed, 'each push was woken once');
    assert.equal(delta(after, before, 'prepare'), pushed + 1, 'the refused push was prepared too');
    assert.equal(delta(after, before, 'handler'), pushed + 1, 'and handled');
    assert.equal(delta(after, before, 'group'), groups, 'one group figure per group');
    assert.equal(delta(after, before, 'after_group'), groups, 'WAL maintenance after every group');
    assert.ok(delta(after, before, 'commit') >= groups, 'at least one COMMIT per group');
    // Each sale stores 8 rows on pages of their own tables: every group's COMMIT writes frames.
    assert.equal(after.server.page_size, 4096);
    // The writer's WAL writes are gathered per commit (server/wal_coalescing_vfs.h): SQLite asks
    // for two writes per frame, the VFS makes a few per commit.
    const calls = after.server.wal_write_calls - before.server.wal_write_calls;
    const issued = after.server.wal_writes_issued - before.server.wal_writes_issued;
    assert.ok(calls >= 2 * pushed, `${calls} write calls for ${pushed} sales`);
    assert.ok(issued > 0 && issued * 4 <= calls, `${issued} writes issued for ${calls} calls`);
    assert.ok(after.server.wal_frames_written - before.server.wal_frames_written >= groups,
      `WAL frames written ${after.server.wal_frames_written - before.server.wal_frames_written} for ${groups} groups`);
    for (const phase of Object.keys(after.push_timings)) {
      const h = after.push_timings[phase];
      assert.equal(total(h), h.count, `${phase}: buckets add up to the count`);
      for (let i = 1; i < h.buckets.length; i += 1) assert.ok(h.buckets[i][0] > h.buckets[i - 1][0], `${phase}: bounds ascend`);
      if (h.count > 0) {
        assert.ok(h.max_us <= h.buckets.at(-1)[0], `${phase}: max within the last bucket`);
        assert.ok(h.sum_us >= 0);
      }
    }
    // The handler's time encloses each push's queue wait and wake (each figure is truncated to
    // whole microseconds on its own, hence the slack of 2 us per push).
    const sum = (phase) => after.push_timings[phase].sum_us - before.push_timings[phase].sum_us;
    assert.ok(sum('handler') + 2 * (pushed + 1) >= sum('queue_wait') + sum('wake') + sum('prepare'),
      `handler ${sum('handler')} us >= prepare + queue wait + wake ${sum('prepare') + sum('queue_wait') + sum('wake')} us`);
  } finally {
    await server.stop();
  }
});
